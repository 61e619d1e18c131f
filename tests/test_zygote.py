"""Children forked from the pre-warmed zygote keep every promise of a freshly started one:
a fresh private root, uid and process tree per submission, no way to reach the zygote, a
sibling or the hidden fixtures, and nothing one submission does to its interpreter reaches
the next. Also: the zygote's absence costs speed, never a grade, and a call is stopped by
its CPU time, so an endless loop costs ``call_cpu_seconds`` rather than the wall limit.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from autograder.config import FIXTURES_DIR, KIT_ROOT, SOLUTION_DIR, Limits
from autograder.confine import forked
from autograder.confine.forked import ForkedProcess, serving, zygote_pid
from autograder.confine.linux import stat_fields
from autograder.confine.mode import Confinement
from autograder.confine.probe import detect_confinement
from autograder.confine.process import ConfinedProcess
from autograder.confine.remote import StudentModule
from autograder.confine.zygote import CHILD_FAILED, Zygote
from autograder.contract.outcomes import Failed, Returned
from tests.conftest import mode_in_new_process, needs_uid_mode

LIMITS = replace(Limits().scaled(3.0), memory_bytes=768 << 20)
IS_ROOT = os.geteuid() == 0
WENT_ON = 96  # a test's forked copy that went on where it should have ended
UID_MODE = Confinement(True, (), "uid")
X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10
W = np.eye(4)
CORRECT = (KIT_ROOT / "solution" / "mhsa.py").read_text()
MODES = ["jail", pytest.param("uid", marks=needs_uid_mode)]

# A submission that prints what it sees as one JSON line, then answers like the reference.
FACTS = """
import json, os, sys
NOTE = "NOTE_NAME"
places = (".", os.environ["TMPDIR"], "/tmp", "/dev/shm")
# The way to the interpreter and venv, mounted read-only where they sit on the host (a
# checkout under /tmp puts its first folder in the jail's /tmp): not something left behind.
ways = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.executable)}
def left(folder):
    return {name for name in os.listdir(folder)
            if not any(w.startswith(os.path.realpath(os.path.join(folder, name)) + "/")
                       for w in ways)}
facts = {"uid": os.getuid(), "pid": os.getpid(),
         "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
         "left": sorted(left(".") | left(os.environ["TMPDIR"])),
         "ns": {kind: os.readlink(f"/proc/self/ns/{kind}")
                for kind in ("pid", "mnt", "net", "ipc", "uts")},
         "notes": [os.path.exists(os.path.join(place, NOTE)) for place in places],
         "fds": sorted(os.readlink(f"/proc/self/fd/{fd}").split(":")[0]
                       for fd in os.listdir("/proc/self/fd")
                       if os.path.exists(f"/proc/self/fd/{fd}"))}
for place in places:
    with open(os.path.join(place, NOTE), "w") as note:
        note.write("written by an earlier submission")
print("FACTS" + json.dumps(facts), flush=True)
"""


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Children of the test run in this mode (uid mode forced, as on Gradescope), with a
    zygote even if an earlier test's broken environment made this process give it up."""
    name = str(request.param)
    monkeypatch.setattr(forked._zygotes, "broken", {})
    if name == "uid":
        if not IS_ROOT:
            pytest.fail("uid mode needs root; CI runs as root")
        import autograder.confine.remote as remote

        monkeypatch.setattr(remote, "detect_confinement", lambda: UID_MODE)
    elif detect_confinement().mode != "jail":
        pytest.fail(f"no jail on this machine: {detect_confinement().note}")
    return name


_opened: list[StudentModule] = []


@pytest.fixture(autouse=True)
def _close_every_module() -> Iterator[None]:
    """No child of a test outlives it (later tests count the sandbox uids' processes)."""
    yield
    while _opened:
        _opened.pop().close()


def _module(source: str, limits: Limits = LIMITS) -> StudentModule:
    module = StudentModule(textwrap.dedent(source).encode(), limits)
    _opened.append(module)
    return module


def _called(module: StudentModule) -> object:
    outcome = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    if module.process is not None:  # still running: it must be the zygote's
        assert isinstance(module.process, ForkedProcess), "the child was not forked"
    return outcome


def _facts(module: StudentModule) -> dict[str, object]:
    module.close()
    printed = "".join(module.printed)
    facts: dict[str, object] = json.loads(printed.split("FACTS", 1)[1].splitlines()[0])
    return facts


def _correct(outcome: object) -> bool:
    if not isinstance(outcome, Returned) or len(outcome.values) != 3:
        return False
    return all(
        value is not None and np.array_equal(value, X @ W) for value in outcome.values
    )


def test_each_forked_child_gets_a_fresh_root_uid_and_process_tree(mode: str) -> None:
    seen = []
    note = f"note-{os.getpid()}-{time.time_ns()}"
    for _ in range(2):
        module = _module(FACTS.replace("NOTE_NAME", note) + CORRECT)
        assert _correct(_called(module))
        assert isinstance(module.process, ForkedProcess)
        seen.append((module.uid, _facts(module)))
    (first_uid, first), (second_uid, second) = seen
    # Nothing the first submission wrote (its folder, TMPDIR, /tmp, /dev/shm) reaches the
    # second: a fresh root in the jail, a fresh folder and the sweep in uid mode.
    assert first["left"] == second["left"] == ["mhsa.py"]
    assert first["notes"] == second["notes"] == [False] * 4
    # /dev/null on stdin, the output pipe (stdout and stderr), the request and reply
    # pipes: nothing of the zygote's (its socket, a client's, another child's) is left.
    assert (
        first["fds"] == second["fds"] == ["/dev/null", "pipe", "pipe", "pipe", "pipe"]
    )
    if IS_ROOT:
        assert first["uid"] == first_uid and second["uid"] == second_uid
        assert first_uid != second_uid
    if mode == "jail":
        assert first["pid"] == second["pid"] == 1  # each is its own namespace's init
        assert first["pids"] == second["pids"] == [1]
        # Every namespace its own, none the zygote's (the zygote makes the PID namespace,
        # the child the others). Two children's are not compared: one ends before the
        # next starts, and the kernel may give a new namespace a freed one's number.
        server = serving("jail")
        assert server is not None
        zygote = zygote_pid(server)
        for facts in (first, second):
            assert isinstance(facts["ns"], dict)
            for kind, name in facts["ns"].items():
                assert name != os.readlink(f"/proc/{zygote}/ns/{kind}"), kind
    else:
        assert first["pid"] != second["pid"]


SIGNALLER = """
import ctypes, errno, json, os, signal
libc = ctypes.CDLL(None, use_errno=True)
tried = {}
for name, pid in (("zygote", ZYGOTE), ("sibling", SIBLING)):
    results = []
    for attempt in ("signal", "ptrace"):
        try:
            if attempt == "signal":
                os.kill(pid, signal.SIGKILL)
                results.append("sent")
            elif libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
                results.append("attached")
            else:
                results.append(errno.errorcode[ctypes.get_errno()])
        except OSError as exc:
            results.append(errno.errorcode[exc.errno])
    tried[name] = results
print("FACTS" + json.dumps(tried), flush=True)
"""


def test_a_forked_child_cannot_signal_or_ptrace_the_zygote_or_a_sibling(
    mode: str,
) -> None:
    sibling = _module(CORRECT)
    assert _correct(_called(sibling))
    assert isinstance(sibling.process, ForkedProcess)
    sibling_pid = sibling.process.host_pid()
    server = serving(mode)
    assert server is not None and sibling_pid is not None
    zygote = zygote_pid(server)
    assert zygote is not None
    source = SIGNALLER.replace("ZYGOTE", str(zygote)).replace(
        "SIBLING", str(sibling_pid)
    )
    attacker = _module(source + CORRECT)
    assert _correct(_called(attacker))
    tried = _facts(attacker)
    for name in ("zygote", "sibling"):
        assert tried[name] in (["ESRCH", "ESRCH"], ["EPERM", "EPERM"]), tried
    # In the jail those pids do not exist in the attacker's namespace; in uid mode they
    # belong to other uids.
    assert _correct(_called(sibling)), "the sibling was harmed"
    sibling.close()
    assert server.process.poll() is None, "the zygote was harmed"
    assert _correct(_called(_module(CORRECT)))


READER = """
import json, os
found = {}
for path in (HIDDEN, SOLUTION):
    try:
        with open(path, "rb") as secret:
            found[path] = "read %d bytes" % len(secret.read())
    except OSError as exc:
        found[path] = type(exc).__name__
print("FACTS" + json.dumps(found), flush=True)
"""


def test_neither_the_zygote_nor_a_child_can_read_the_hidden_fixtures(mode: str) -> None:
    hidden, solution = FIXTURES_DIR / "hidden.json", SOLUTION_DIR / "mhsa.py"
    if IS_ROOT:
        from autograder.confine.protect import protect

        protect([KIT_ROOT, SOLUTION_DIR, FIXTURES_DIR])  # as every batch does first
    source = READER.replace("HIDDEN", repr(str(hidden))).replace(
        "SOLUTION", repr(str(solution))
    )
    module = _module(source + CORRECT)
    assert _correct(_called(module))
    found = _facts(module)
    assert not any(str(value).startswith("read") for value in found.values()), found
    server = serving(mode)
    assert server is not None
    zygote = zygote_pid(server)
    assert zygote is not None
    status = Path(f"/proc/{zygote}/status").read_text()
    if mode == "jail":
        # The zygote's root is its base jail: the kit is not in it (a venv inside the kit
        # is, at its own path).
        root = f"/proc/{zygote}/root"
        for absent in (hidden, FIXTURES_DIR, SOLUTION_DIR, KIT_ROOT / "autograder"):
            assert not Path(f"{root}{absent}").exists(), absent
        assert Path(f"/proc/{zygote}/root/usr").is_dir()
    else:
        # A throwaway uid of its own, with only the capabilities that hand out uids: no
        # CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH, so the closed kit is closed to it.
        uids = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert set(uids.split()[1:]) == {str(server.uid)}
        effective = next(x for x in status.splitlines() if x.startswith("CapEff:"))
        assert (
            int(effective.split()[1], 16) == 0b111100000
        )  # KILL, SETGID, SETUID, SETPCAP


BREAKERS = {
    "patches_numpy": """
        import numpy as np
        np.matmul = lambda *a, **k: 0
        np.array_equal = lambda *a, **k: True
        import numpy.linalg
        numpy.linalg.norm = None
        def create_qkv(i, q, k, v):
            return np.zeros(1), np.zeros(1), np.zeros(1)
        """,
    "fills_memory": """
        import numpy as np
        hoard = []
        try:
            while True:
                hoard.append(np.ones(1 << 24))
        except MemoryError:
            pass
        def create_qkv(i, q, k, v):
            return np.zeros(1), np.zeros(1), np.zeros(1)
        """,
    "exits": """
        import os
        def create_qkv(i, q, k, v):
            os._exit(0)
        """,
    "fork_bomb": """
        import os
        def create_qkv(i, q, k, v):
            for _ in range(200):
                try:
                    os.fork()
                except OSError:
                    pass
            return None
        """,
    "corrupts_modules": """
        import sys, json, os
        for name in list(sys.modules):
            if name.startswith(("numpy", "json", "struct")):
                sys.modules[name] = None
        json.dumps = None
        os.write = None
        def create_qkv(i, q, k, v):
            return 0
        """,
}


@pytest.mark.parametrize("breaker", sorted(BREAKERS))
def test_a_submission_that_breaks_its_interpreter_leaves_the_next_one_whole(
    mode: str, breaker: str
) -> None:
    hostile = _module(BREAKERS[breaker])
    outcome = _called(hostile)
    assert not _correct(outcome)
    hostile.close()
    after = _module(CORRECT)
    assert _correct(_called(after)), f"graded wrong after {breaker}"
    after.close()


def _spawn_many(count: int) -> list[str]:
    """In a fresh process: start ``count`` children one after the other; what went wrong."""
    problems = []
    for number in range(count):
        module = StudentModule(CORRECT.encode(), LIMITS)
        outcome = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
        module.close()
        if not _correct(outcome):
            problems.append(f"child {number}: {outcome}")
    return problems


def test_children_of_several_processes_all_start() -> None:
    """Three processes share one zygote (as a batch's workers do) and fork 40 children
    each. Before the fix, a child asked for its parent-death signal while the process
    that made its namespaces was still exiting, and a few in a hundred were killed."""
    if detect_confinement().mode != "jail":
        pytest.fail(f"no jail on this machine: {detect_confinement().note}")
    assert _correct(_called(_module(CORRECT)))  # this process's zygote, advertised
    assert os.environ.get(forked.ZYGOTE_SOCKET.format("JAIL"))
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        problems = [p for batch in pool.map(_spawn_many, [40, 40, 40]) for p in batch]
    assert problems == []


def test_without_a_zygote_children_start_afresh_with_the_same_grade(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if detect_confinement().mode != "jail":
        pytest.fail(f"no jail on this machine: {detect_confinement().note}")
    broken = tmp_path / "zygote.py"
    broken.write_text("raise SystemExit('this zygote cannot start')\n")
    monkeypatch.setattr(forked, "ZYGOTE_SOURCE", broken)
    monkeypatch.setattr(forked, "_zygotes", forked._Zygotes())
    monkeypatch.delenv(forked.ZYGOTE_SOCKET.format("JAIL"), raising=False)
    module = _module(CORRECT)
    outcome = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    assert isinstance(module.process, ConfinedProcess)
    assert _correct(outcome)
    module.close()
    assert "instead of from the zygote" in capfd.readouterr().err


def test_a_zygote_child_that_dies_before_reading_the_file_costs_the_student_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The grader's fault (here: a child that cannot run ``child.py``) is told to staff,
    and the submission's child starts afresh instead: the student is graded as usual."""
    if detect_confinement().mode != "jail":
        pytest.fail(f"no jail on this machine: {detect_confinement().note}")
    dying = tmp_path / "child.py"
    dying.write_text(
        "def main():\n    raise SystemExit(1)  # before reading the file\n"
    )
    monkeypatch.setattr(forked, "CHILD_SOURCE", dying)
    monkeypatch.setattr(forked, "_zygotes", forked._Zygotes())
    monkeypatch.delenv(forked.ZYGOTE_SOCKET.format("JAIL"), raising=False)
    module = _module(CORRECT)
    outcome = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    assert isinstance(module.process, ConfinedProcess)
    assert _correct(outcome)
    module.close()
    assert "a child failed to start" in capfd.readouterr().err


@pytest.mark.parametrize("job_mode", ["uid", "jail"])
def test_a_forked_copy_that_fails_before_confining_itself_ends_there(
    job_mode: str,
) -> None:
    """A zygote's forked copy that fails before ``become_child`` has taken over (here:
    dropping the zygote's own descriptors) exits as a failed child, and never goes on
    with the zygote's code in the copy."""
    if job_mode == "jail" and detect_confinement().mode != "jail":
        pytest.fail(f"no jail on this machine: {detect_confinement().note}")

    def failing_forget() -> None:
        raise OSError("a descriptor of the zygote's was already closed")

    zygote = object.__new__(Zygote)  # only what _fork uses: no socket, no server loop
    zygote.child = types.ModuleType("child")
    zygote.pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    vars(zygote)["_forget"] = failing_forget
    parent = os.getpid()
    try:
        pid = zygote._fork({"mode": job_mode}, [])
    except BaseException:
        if os.getpid() != parent:
            os._exit(WENT_ON)  # the copy came out of _fork with the zygote's exception
        raise
    finally:
        if os.getpid() == parent:
            os.close(zygote.pid_namespace)
    if os.getpid() != parent:
        os._exit(WENT_ON)  # the copy came back from _fork as if it were the zygote
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == CHILD_FAILED
    assert os.readlink("/proc/self/ns/pid_for_children") == os.readlink(
        "/proc/self/ns/pid"
    ), "the zygote did not take its own PID namespace back"


@needs_uid_mode  # nobody must be able to run this interpreter and venv
def test_an_ordinary_users_children_are_forked_in_a_user_namespace(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """As an ordinary user (nobody) the zygote's base jail and each child's namespaces
    come from a user namespace; the children are still forked, never started afresh."""
    if not IS_ROOT or detect_confinement().mode != "jail":
        pytest.fail("this test drops from root to nobody; CI runs as root")
    folder = Path(tempfile.mkdtemp(prefix="mhsa-nobody-"))
    try:
        folder.chmod(0o755)
        shutil.copytree(
            KIT_ROOT / "autograder",
            folder / "autograder",
            ignore=shutil.ignore_patterns("__pycache__", "fixtures"),
        )
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        script = (
            "import sys\n"
            f"sys.path.insert(0, {str(folder)!r})\n"
            "import numpy as np\n"
            "from autograder.confine.remote import StudentModule\n"
            "from autograder.config import Limits\n"
            "source = sys.argv[1].encode()\n"
            "x = np.ones((2, 3, 4)); w = np.eye(4)\n"
            "for _ in range(2):\n"
            "    module = StudentModule(source, Limits())\n"
            "    outcome = module.call('create_qkv', [x, w, w, w], 10**4)\n"
            "    print(type(module.process).__name__, type(outcome).__name__)\n"
            "    module.close()\n"
            "    print(''.join(module.printed).strip())\n"
        )
        source = (
            "import os\n"
            f"print('SEES', os.path.exists({str(SOLUTION_DIR)!r}), os.getuid(), os.getpid())\n"
            "def create_qkv(i, q, k, v):\n"
            "    return i @ q, i @ k, i @ v\n"
        )
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            + [sys.executable, "-c", script, source],
            capture_output=True,
            text=True,
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "HOME": str(folder)},
            check=False,
            timeout=120,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "instead of from the zygote" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert lines == ["ForkedProcess Returned", "SEES False 0 1"] * 2, done.stdout


LEAVER = """
import os, subprocess, sys
NAME = "LEFT"
for folder in ("/tmp", "/dev/shm"):
    with open(os.path.join(folder, NAME), "w") as left:
        left.write("left behind")
subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(60)", NAME])
"""


@needs_uid_mode
def test_uid_mode_sweeps_through_the_zygote(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep after a uid-mode child is forked by the zygote as that uid: what the uid
    left is gone without the slow sweep (a ``python -S`` started per submission)."""
    if not IS_ROOT:
        pytest.fail("uid mode needs root; CI runs as root")
    import autograder.confine.remote as remote

    monkeypatch.setattr(remote, "detect_confinement", lambda: UID_MODE)
    monkeypatch.setattr(forked._zygotes, "broken", {})
    slow: list[int] = []
    monkeypatch.setattr(forked, "sweep_uid", slow.append)
    name = f"mhsa-left-{os.getpid()}-{time.time_ns()}"
    module = _module(LEAVER.replace("LEFT", name) + CORRECT)
    assert _correct(_called(module))
    uid = module.uid
    assert uid is not None and _wait_for(lambda: bool(_marked(name)))
    module.close()
    assert slow == []
    assert not Path("/tmp", name).exists() and not Path("/dev/shm", name).exists()
    assert _marked(name) == []


LOOP = """
def create_qkv(i, q, k, v):
    total = 0.0
    while total >= 0.0:
        total += 1.0
"""

SLEEPER = """
import time
def create_qkv(i, q, k, v):
    time.sleep(SECONDS)
    return i @ q, i @ k, i @ v
"""


def test_an_endless_loop_is_stopped_by_its_cpu_time_not_the_wall_limit() -> None:
    limits = replace(Limits(), call_seconds=60.0, call_cpu_seconds=1.0)
    module = _module(LOOP, limits)
    started = time.monotonic()
    outcome = _called(module)
    elapsed = time.monotonic() - started
    module.close()
    assert isinstance(outcome, Failed) and outcome.kind == "timeout"
    assert "within 1 s of computing time" in outcome.message
    assert 1.0 <= elapsed < 30.0


def test_a_call_slow_in_wall_time_but_not_in_cpu_time_is_not_cut() -> None:
    """What a loaded machine does to honest code: long in wall time, short in CPU."""
    limits = replace(Limits(), call_seconds=10.0, call_cpu_seconds=0.5)
    module = _module(SLEEPER.replace("SECONDS", "1.5"), limits)
    assert _correct(_called(module))
    module.close()


def test_a_sleeping_call_still_meets_the_wall_limit() -> None:
    limits = replace(Limits(), call_seconds=1.5, call_cpu_seconds=60.0)
    module = _module(SLEEPER.replace("SECONDS", "60"), limits)
    started = time.monotonic()
    outcome = _called(module)
    module.close()
    assert isinstance(outcome, Failed) and "within 1.5 s" in outcome.message
    assert time.monotonic() - started < 15


def test_the_zygote_dies_with_the_grader_and_takes_its_children(tmp_path: Path) -> None:
    marker = f"mhsa-zygote-test-{os.getpid()}-{time.time_ns()}"
    grader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time, numpy as np\n"
            "os.environ.pop('MHSA_ZYGOTE_JAIL', None)\n"  # a zygote of its own
            "from autograder.confine.remote import StudentModule\n"
            "from autograder.config import Limits\n"
            "m = StudentModule(sys.argv[1].encode(), Limits())\n"
            "x = np.ones((2, 3, 4)); w = np.eye(4)\n"
            "m.call('create_qkv', [x, w, w, w], 10**4)\n"
            "print('called', flush=True)\n"
            "time.sleep(60)\n",
            f"MARK = {marker!r}\n"
            "import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', MARK])\n"
            "def create_qkv(i, q, k, v):\n"
            "    return i @ q, i @ k, i @ v\n",
        ],
        cwd=KIT_ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(KIT_ROOT), "TMPDIR": str(tmp_path)},
    )
    assert grader.stdout is not None
    assert grader.stdout.readline().strip() == b"called"
    assert _wait_for(lambda: bool(_marked(marker)))
    first_line = forked.ZYGOTE_SOURCE.read_text().splitlines()[0]  # in its command line
    zygote = [p for p in _marked(first_line) if _descends(p, grader.pid)]
    assert zygote, "the grader started no zygote"
    grader.kill()
    grader.wait()
    assert _wait_for(lambda: not _marked(marker) and not any(map(_alive, zygote)))


def _alive(pid: int) -> bool:
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        fields = stat_fields(pid)
        if fields is None:
            return False
        pid = int(fields[1])
        if pid == ancestor:
            return True
    return False


def _marked(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as source:
                    if marker.encode() in source.read():
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_for(predicate: object, seconds: float = 10.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_temporary_folder_too_deep_for_a_socket_still_gets_a_zygote(
    tmp_path: Path,
) -> None:
    # A Unix socket's path holds at most 107 bytes: under a deep TMPDIR the zygote's
    # socket could not be bound, and every child started afresh.
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    deep.mkdir(parents=True)
    done = mode_in_new_process({"TMPDIR": str(deep)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "afresh" not in done.stderr, done.stderr
