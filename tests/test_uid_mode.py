"""uid mode (root without namespaces: Gradescope's, and `make grade` in a container): the
promises the jail keeps by construction, kept here by ownership, modes and the sweep.

Reproductions of issue 11's findings 6 to 10: command-line values readable by student
code, the kit's own correct code readable, a classmate's file readable while its folder is
set up, root deleting through a swapped symlink, IPC objects and lock files outliving the
batch. Every test here needs a root grader (CI runs as root).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from autograder.config import KIT_ROOT, Limits
from autograder.confine.mode import Confinement
from autograder.confine.protect import exposed_assignments, protect
from autograder.confine.remote import StudentModule
from autograder.confine.uid import uids_of
from autograder.contract.outcomes import Failed, Raised
from tests.conftest import needs_uid_mode

LIMITS = replace(Limits().scaled(3.0), memory_bytes=768 << 20)
UID_MODE = Confinement(True, (), "uid")
X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10
W = np.eye(4)
SYSV = ("shm", "msg", "sem")

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="uid mode needs a root grader (CI and Gradescope are root)",
    ),
    needs_uid_mode,
]


@pytest.fixture
def uid_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Children of this test run in uid mode, whatever the machine grants."""
    import autograder.confine.remote as remote

    monkeypatch.setattr(remote, "detect_confinement", lambda: UID_MODE)
    yield


def _module(source: str) -> StudentModule:
    return StudentModule(textwrap.dedent(source).encode(), LIMITS)


def _called(source: str) -> tuple[StudentModule, object]:
    module = _module(source)
    return module, module.call("create_qkv", [X, W, W, W], X.nbytes * 3)


def _ipc_of(uid: int) -> list[str]:
    """SysV IPC objects owned or created by ``uid``."""
    found = []
    for kind in SYSV:
        with open(f"/proc/sysvipc/{kind}") as source:
            header, *rows = [line.split() for line in source]
        where = [header.index("uid"), header.index("cuid")]
        found += [
            f"{kind} {row[1]}" for row in rows if uid in {int(row[i]) for i in where}
        ]
    return found


# --- finding 8: a classmate's private folder is never open, not even while it is made ---

WATCH_SETUP = """
import os, stat, sys, tempfile
from pathlib import Path
from autograder.confine import mode, process
from autograder.config import Limits

def open_to_others():
    for student_file in Path(tempfile.gettempdir()).glob("mhsa-child-*/work/mhsa.py"):
        try:
            if not os.stat(student_file).st_mode & stat.S_IROTH:
                continue
            if all(os.stat(p).st_mode & stat.S_IXOTH for p in student_file.parents):
                return str(student_file)
        except OSError:
            continue
    return None

exposed = []
busy = []
def hook(event, args):  # before every file operation: is a student file open to others?
    if busy or event.split(".")[0] not in ("os", "open", "subprocess", "shutil"):
        return
    busy.append(1)
    try:
        found = open_to_others()
        if found:
            exposed.append(event)
    finally:
        busy.clear()
sys.addaudithook(hook)
child = process.ConfinedProcess(
    b"x = 1\\n", [], Limits(),
    confinement=mode.Confinement(True, (), "uid"),
    python_code="pass",
)
found = open_to_others()
child.kill()
print("EXPOSED", exposed + ([found] if found else []))
"""


def test_a_private_folder_is_never_open_to_other_users_while_it_is_set_up(
    tmp_path: Path,
) -> None:
    tmp_path.chmod(0o755)  # like /tmp: other users may pass through
    done = subprocess.run(
        [sys.executable, "-c", WATCH_SETUP],
        cwd=KIT_ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(KIT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert "EXPOSED []" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.usefixtures("uid_mode")
def test_each_submission_runs_under_a_uid_of_its_own() -> None:
    source = """
    import os
    def create_qkv(inputs, weights_q, weights_k, weights_v):
        raise ValueError(f"uid {os.getuid()}")
    """
    first, first_outcome = _called(source)
    second, second_outcome = _called(source)
    for module in (first, second):
        module.close()
    assert isinstance(first_outcome, Raised) and isinstance(second_outcome, Raised)
    assert first_outcome.message == f"uid {first.uid}"
    assert second_outcome.message == f"uid {second.uid}"
    assert first.uid != second.uid
    assert {first.uid, second.uid} <= set(uids_of(os.getpid()))


# --- finding 9: no removal follows a link ---------------------------------------------------

SWAPPER = """
import ctypes, os, sys, time
folder, target, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
os.symlink(target, folder + ".link")
end = time.monotonic() + seconds
while time.monotonic() < end:  # the folder and a symlink trade names, atomically
    libc.renameat2(-100, folder.encode(), -100, (folder + ".link").encode(), 2)
"""
VICTIMS = 200  # files of the same names in both folders: every removal is a chance


@pytest.mark.usefixtures("uid_mode")
def test_the_sweep_never_removes_through_a_folder_swapped_for_a_symlink() -> None:
    """Two colluding submissions: one leaves a file in the other's world-writable folder,
    the other swaps that folder for a symlink to an unrelated folder during the sweep.
    """
    colluder = 1_900_000_000 + os.getpid() % 100_000
    name = f"mhsa-swap-{secrets.token_hex(4)}"
    folder, target = Path("/tmp", name), Path(tempfile.mkdtemp(prefix="mhsa-victim-"))
    target.chmod(0o755)
    try:
        for round_ in range(10):
            for index in range(VICTIMS):
                (target / f"left{index}").write_text("must survive")
            folder.mkdir()
            os.chown(folder, colluder, colluder)
            folder.chmod(0o777)
            module, outcome = _called(f"""
            for index in range({VICTIMS}):
                open(f"{folder}/left{{index}}", "w").write("the sandbox user's file")
            def create_qkv(inputs, weights_q, weights_k, weights_v):
                return inputs, inputs, inputs
            """)
            swapper = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    SWAPPER,
                    str(folder),
                    str(target),
                    "3",
                ],
                user=colluder,
                group=colluder,
                extra_groups=[],
            )
            time.sleep(0.05)
            module.close()
            swapper.kill()
            swapper.wait()
            assert not isinstance(outcome, Failed), outcome
            survivors = [p for p in target.iterdir() if p.read_text() == "must survive"]
            assert len(survivors) == VICTIMS, f"round {round_}"
            _unswap(folder)
            shutil.rmtree(folder)
    finally:
        _unswap(folder)
        for leftover in (folder, target):
            shutil.rmtree(leftover, ignore_errors=True)


def _unswap(folder: Path) -> None:
    """The folder back under its name, the swapper's symlink gone."""
    link = Path(f"{folder}.link")
    if folder.is_symlink():
        folder.unlink()
        if link.is_dir() and not link.is_symlink():
            link.rename(folder)
    elif link.is_symlink():
        link.unlink()


# --- finding 10: IPC objects and lock files do not outlive the submission ------------------

IPC_MAKER = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
made = {
    "shm": libc.shmget(0, 1 << 30, IPC_CREAT | 0o600),
    "msg": libc.msgget(0, IPC_CREAT | 0o600),
    "sem": libc.semget(0, 1, IPC_CREAT | 0o600),
}
try:
    mq_open = libc.mq_open
except AttributeError:
    mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
made["mqueue"] = mq_open(b"/QUEUE", os.O_CREAT | os.O_RDWR, 0o600, None)
for folder in ("/run/lock", "/dev/shm", "/var/tmp"):
    open(os.path.join(folder, "LOCK"), "w").write("left")
def create_qkv(inputs, weights_q, weights_k, weights_v):
    raise ValueError(repr(made))
"""


def _posix_queue_exists(name: str) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        mq_open = libc.mq_open
    except AttributeError:
        mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
    queue = mq_open(name.encode(), os.O_RDONLY)
    if queue == -1:
        return False
    libc.mq_close(queue)
    libc.mq_unlink(name.encode())
    return True


@pytest.mark.usefixtures("uid_mode")
def test_ipc_objects_and_lock_files_of_the_sandbox_uid_are_removed() -> None:
    marker = "mhsa-ipc-" + secrets.token_hex(4)
    source = IPC_MAKER.replace("QUEUE", marker).replace("LOCK", marker)
    module, outcome = _called(source)
    assert isinstance(outcome, Raised), outcome
    made = json.loads(outcome.message.replace("'", '"'))
    assert min(made["shm"], made["msg"], made["sem"]) >= 0, made  # it really made them
    assert module.uid is not None and len(_ipc_of(module.uid)) == 3
    assert Path("/run/lock", marker).exists()
    module.close()
    assert _ipc_of(module.uid) == []
    assert not any(
        Path(folder, marker).exists() for folder in ("/run/lock", "/dev/shm")
    )
    assert not _posix_queue_exists(f"/{marker}")  # RLIMIT_MSGQUEUE = 0: never made


# --- finding 7: the kit is closed, the interpreter is not ----------------------------------

KIT_READER = """
import os, sys
from pathlib import Path
kit = Path(sys.executable).parents[2]  # <kit>/.venv/bin/python
read = {}
for name in ("autograder/diagnose/replay.py", "tests/mutants/correct/einsum.py",
             "solution/mhsa.py", "examples/submissions/correct.py", "README.md", "."):
    try:
        path = kit / name
        read[name] = len(os.listdir(path) if path.is_dir() else path.read_bytes())
    except OSError as error:
        read[name] = type(error).__name__
def create_qkv(inputs, weights_q, weights_k, weights_v):
    import numpy
    raise ValueError(repr(read))
"""


@pytest.mark.usefixtures("uid_mode")
def test_the_kit_is_closed_to_student_code_but_the_interpreter_runs() -> None:
    if not Path(sys.prefix).is_relative_to(KIT_ROOT):
        pytest.skip("the venv lives outside the kit here (as on Gradescope)")
    protect([KIT_ROOT])
    module, outcome = _called(KIT_READER)
    module.close()
    assert isinstance(outcome, Raised), outcome  # Python and numpy ran
    read = json.loads(outcome.message.replace("'", '"'))
    assert set(read.values()) == {"PermissionError"}, read
    kit_mode = KIT_ROOT.stat().st_mode
    assert kit_mode & stat.S_IXOTH and not kit_mode & (stat.S_IROTH | stat.S_IWOTH)


# --- finding 6: values on a command line ----------------------------------------------------


def test_values_set_on_a_command_line_are_named_for_staff() -> None:
    secret = "s3cr3t-" + secrets.token_hex(4)
    shown = subprocess.run(
        [
            "sh",
            "-c",
            f'{sys.executable} -c "$0"; :',
            "from autograder.confine.protect import exposed_assignments as e; print(e())",
            f"TOKEN={secret}",
        ],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(KIT_ROOT)},
    )
    assert "TOKEN" in shown.stdout and secret not in shown.stdout, shown.stderr
    assert "TOKEN" not in exposed_assignments()  # this test's own ancestors set none


@pytest.mark.parametrize("grading", ["done", "failed"])
def test_a_batch_warns_staff_of_a_value_on_its_command_line(
    tmp_path: Path, grading: str
) -> None:
    # Warned once grading is over (learning the mode loads numpy, which mypy should not
    # wait for), even when it failed: the name, never the value.
    secret = "s3cr3t-" + secrets.token_hex(4)
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(
        KIT_ROOT / "examples" / "submissions" / "correct.py", folder / "mhsa.py"
    )
    grade = (
        "import sys\n"
        "import autograder.pipeline.batch as batch\n"
        "def broken(*args):\n"
        "    raise batch.EnvironmentFault('the machine broke')\n"
        f"if {grading == 'failed'}:\n"
        "    batch.grade_in_turn = broken\n"
        "from autograder.__main__ import main\n"
        "sys.exit(main(['grade', sys.argv[1], '--out', sys.argv[2]]))\n"
    )
    shown = subprocess.run(
        [
            "sh",
            "-c",
            '"$0" -c "$1" "$2" "$3"; exit $?',
            sys.executable,
            grade,
            folder,
            tmp_path / "out",
            f"TOKEN={secret}",
        ],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MHSA_NO_NAMESPACES": "1"},
    )
    assert (shown.returncode == 0) == (grading == "done"), shown.stderr[-2000:]
    named = re.search(r"warning: (.+?) set on a command line", shown.stderr)
    assert named is not None, shown.stderr  # the runner's own names may come first
    assert "TOKEN" in named.group(1).split(", "), shown.stderr
    assert secret not in shown.stdout + shown.stderr


def test_closing_the_kit_reopens_its_interpreter_and_leaves_other_venvs_usable() -> (
    None
):
    """`make test` and `make test VENV=.venv310` share one kit: each run's closing must
    leave the other's venv usable, and reopen its own if the other closed it."""
    if not Path(sys.prefix).is_relative_to(KIT_ROOT):
        pytest.skip("the venv lives outside the kit here (as on Gradescope)")
    own = Path(sys.prefix)
    other = KIT_ROOT / f".venv-other-{secrets.token_hex(4)}"  # ignored by git: .venv*/
    (other / "bin").mkdir(parents=True)
    (other / "pyvenv.cfg").write_text("home = /usr/bin\n")
    other.chmod(0o755)
    try:
        own.chmod(0o700)  # as the other run's closing would have left it
        protect([KIT_ROOT])
        for venv in (own, other):
            mode = venv.stat().st_mode
            assert mode & stat.S_IROTH and mode & stat.S_IXOTH, venv
        assert not (KIT_ROOT / "solution").stat().st_mode & stat.S_IRWXO
        assert not (KIT_ROOT / "autograder").stat().st_mode & stat.S_IRWXO
    finally:
        shutil.rmtree(other)
