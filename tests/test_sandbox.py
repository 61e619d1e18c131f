"""The confined child, layer by layer: what it can see, what dies with it, what the channel
refuses. The whole-batch view is in ``test_attacks.py``.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from autograder.config import KIT_ROOT, SOLUTION_DIR, Limits
from autograder.confine.channel import (
    ArrayMeta,
    ProtocolViolation,
    parse_meta,
    read_arrays,
    read_header,
)
from autograder.confine.jail import JAIL_WORKDIR, python_binds
from autograder.confine.linux import processes_of
from autograder.confine.mode import SCRUBBED_ENV, Confinement, SandboxUnavailable
from autograder.confine.probe import detect_confinement
from autograder.confine.process import ConfinedProcess
from autograder.confine.remote import StudentModule
from autograder.contract.outcomes import Failed, Returned
from tests.conftest import mode_in_new_process, needs_uid_mode

LIMITS = replace(Limits().scaled(3.0), memory_bytes=768 << 20)
IS_ROOT = os.geteuid() == 0
X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10
W = np.eye(4)


def _module(source: str, confinement: Confinement | None = None) -> StudentModule:
    """A StudentModule whose children use ``confinement`` (the detected one by default)."""
    module = StudentModule(textwrap.dedent(source).encode(), LIMITS)
    if confinement is not None:
        original = module._start

        def start() -> None:
            import autograder.confine.remote as remote

            with mock.patch.object(remote, "detect_confinement", lambda: confinement):
                original()

        module._start = start  # type: ignore[method-assign]
    return module


def _printed(module: StudentModule) -> str:
    module.close()
    return "".join(module.printed)


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


def _wait_for(predicate: object, seconds: float = 5.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


MODES = ["jail", pytest.param("uid", marks=needs_uid_mode), "plain"]


def _confinement(mode: str) -> Confinement:
    if mode == "jail":
        return detect_confinement()
    return Confinement(mode == "uid", (), mode)


@pytest.fixture
def marker() -> Iterator[str]:
    """A string no other process on the machine carries, killed for good afterwards."""
    value = "mhsa-sandbox-test-" + secrets.token_hex(6)
    yield value
    for pid in _marked(value):  # never leave a test's escapee behind, even on failure
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_root_grader_gets_the_jail_with_a_throwaway_uid() -> None:
    confinement = detect_confinement()
    if IS_ROOT:
        assert confinement.mode == "jail", confinement.note
        assert confinement.drop_privileges
    assert confinement.mode in confinement.describe()


@pytest.mark.parametrize("zygote", ["zygote", "start-up path"])
def test_a_grader_with_a_private_umask_still_gets_the_jail(zygote: str) -> None:
    # umask 077 (shared servers, hardened images) made every folder of the jail's root
    # 0700: the sandbox uid could not reach numpy, and the grader fell back to uid mode.
    if detect_confinement().mode != "jail":
        pytest.fail(f"no jail on this machine: {detect_confinement().note}")
    no_zygote = "1" if zygote != "zygote" else "0"
    done = mode_in_new_process({"MHSA_NO_ZYGOTE": no_zygote}, umask=0o077)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "jail", done.stdout + done.stderr
    assert "afresh" not in done.stderr, done.stderr  # the zygote worked too


def test_jailed_child_sees_only_python_its_own_file_and_its_own_processes() -> None:
    if detect_confinement().mode != "jail":
        pytest.fail(f"no jail on this machine: {detect_confinement().note}")
    module = _module("""
        import json, os
        facts = {
            "uid": os.getuid(),
            "root": sorted(os.listdir("/")),
            "cwd": os.getcwd(),
            "workdir": sorted(os.listdir(".")),
            "env": sorted(os.environ),
            "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "interfaces": open("/proc/net/dev").read().count(":"),
            "caps": [l for l in open("/proc/self/status") if l.startswith("CapEff")],
            "kit": os.path.exists(SOLUTION),
            "tmp": sorted(os.listdir("/tmp")),
            "usr_writable": os.access("/usr/bin", os.W_OK),
            "fds": [
                os.readlink(f"/proc/self/fd/{fd}")
                for fd in list(os.listdir("/proc/self/fd"))
                if os.path.exists(f"/proc/self/fd/{fd}")
            ],
        }
        print("FACTS" + json.dumps(facts))
        """.replace("SOLUTION", repr(str(SOLUTION_DIR / "mhsa.py"))))
    outcome = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    assert isinstance(outcome, Failed) and outcome.kind == "missing"
    facts = json.loads(_printed(module).split("FACTS", 1)[1].splitlines()[0])
    if IS_ROOT:
        assert facts["uid"] == module.uid
    assert facts["cwd"] == JAIL_WORKDIR and facts["workdir"] == ["mhsa.py"]
    assert "work" not in facts["root"] or Path(sys.prefix).is_relative_to("/work")
    assert not {"home", "var", "opt", "autograder"} & set(facts["root"])
    assert set(facts["env"]) == set(SCRUBBED_ENV) | {"HOME", "TMPDIR"}
    assert facts["pids"] == [1]
    assert facts["interfaces"] <= 2  # the header line, and at most "lo" (down)
    assert facts["caps"] == ["CapEff:\t0000000000000000\n"]
    assert facts["kit"] is False and not facts["usr_writable"]
    # /tmp is the jail's own, empty but for the mount points of a venv living in /tmp
    python_in_tmp = {
        Path(p).relative_to("/tmp").parts[0]
        for p in python_binds()
        if Path(p).is_relative_to("/tmp")
    }
    assert set(facts["tmp"]) == python_in_tmp
    # stdin (/dev/null), stdout and stderr (one pipe), the request and reply pipes:
    # nothing else was inherited.
    assert sorted(facts["fds"])[0] == "/dev/null" and len(facts["fds"]) == 5
    assert all(fd.startswith("pipe:") for fd in sorted(facts["fds"])[1:]), facts["fds"]


SPAWNER = """
import os, signal, subprocess, sys, time
LINGER = (
    "import os, signal, time\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "os.setsid()\\n"
    "if os.fork() == 0: os.setsid()\\n"
    "while True: time.sleep(0.1)\\n"
)
for _ in range(2):
    subprocess.Popen([sys.executable, "-c", LINGER, "MARKER"])
open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "left-MARKER"), "w").close()
time.sleep(0.5)

def create_qkv(inputs, weights_q, weights_k, weights_v):
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v
"""


@pytest.mark.parametrize("mode", MODES)
def test_closing_kills_setsid_escapees_in_every_mode(mode: str, marker: str) -> None:
    if mode == "uid" and not IS_ROOT:
        pytest.fail("uid mode needs root; CI runs as root")
    confinement = _confinement(mode)
    module = _module(SPAWNER.replace("MARKER", marker), confinement)
    outcome = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    assert isinstance(outcome, Returned)
    assert _wait_for(lambda: len(_marked(marker)) >= 4), "the escapees never started"
    module.close()
    assert _marked(marker) == []
    if confinement.drop_privileges:
        assert module.uid is not None and processes_of(module.uid) == []


@needs_uid_mode
def test_uid_mode_deletes_what_the_sandbox_user_left_in_tmp(marker: str) -> None:
    if not IS_ROOT:
        pytest.fail("uid mode needs root; CI runs as root")
    module = _module(
        f"""
        import os
        for folder in ("/tmp", "/dev/shm", "/var/tmp"):
            with open(os.path.join(folder, "{marker}"), "w") as sink:
                sink.write("left behind")
            os.makedirs(os.path.join(folder, "{marker}-dir", "deep"))
        """,
        Confinement(True, (), "uid"),
    )
    module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    assert Path("/tmp", marker).exists()  # it really wrote there
    module.close()
    for folder in ("/tmp", "/dev/shm", "/var/tmp"):
        assert not Path(folder, marker).exists()
        assert not Path(folder, f"{marker}-dir").exists()


def test_children_die_when_the_grader_is_killed(tmp_path: Path, marker: str) -> None:
    source = tmp_path / "spawner.py"
    source.write_text(SPAWNER.replace("MARKER", marker))
    grader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, numpy as np\n"
            "from autograder.confine.remote import StudentModule\n"
            "from autograder.config import Limits\n"
            "m = StudentModule(open(sys.argv[1], 'rb').read(), Limits())\n"
            "x = np.ones((2, 3, 4)); w = np.eye(4)\n"
            "m.call('create_qkv', [x, w, w, w], 10**4)\n"
            "print('called', flush=True)\n"
            "time.sleep(60)\n",
            str(source),
        ],
        cwd=KIT_ROOT,
        stdout=subprocess.PIPE,
        # its child's private folder is never removed (the grader dies): keep it in tmp_path
        env={**os.environ, "PYTHONPATH": str(KIT_ROOT), "TMPDIR": str(tmp_path)},
    )
    assert grader.stdout is not None
    assert grader.stdout.readline().strip() == b"called"
    assert _wait_for(lambda: len(_marked(marker)) >= 4)
    grader.kill()
    grader.wait()
    if detect_confinement().mode == "jail":
        assert _wait_for(lambda: _marked(marker) == []), _marked(marker)


def test_a_hang_costs_one_deadline_and_the_tree_is_killed(marker: str) -> None:
    module = _module(f"""
        import signal, subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(99)", "{marker}"])
        def create_qkv(inputs, weights_q, weights_k, weights_v):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                pass
        """)
    first = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    second = module.call("create_qkv", [X, W, W, W], X.nbytes * 3)
    assert isinstance(first, Failed) and first.kind == "timeout"
    assert second is first  # not called again
    assert _marked(marker) == []
    module.close()


def test_an_array_beyond_the_bound_comes_back_as_its_shape_only() -> None:
    module = _module("""
        import numpy as np
        def scaled_dot_product_attention(Q, K, V, scale):
            return np.broadcast_to(np.zeros(1), (10**6, 10**6))
        """)
    outcome = module.call("scaled_dot_product_attention", [X, X, X, 0.5], X.nbytes)
    module.close()
    assert isinstance(outcome, Returned)
    assert outcome.metas[0].too_large and outcome.metas[0].shape == (10**6, 10**6)
    assert outcome.values == (None,)


def _pipe_with(data: bytes) -> int:
    """A descriptor that yields ``data`` then end-of-file, like a child that wrote and quit."""
    read, write = os.pipe()

    def feed() -> None:
        os.write(write, data)
        os.close(write)

    threading.Thread(target=feed, daemon=True).start()
    return read


def _frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


@pytest.mark.parametrize(
    "data",
    [
        struct.pack(">I", 2**32 - 1),
        _frame(b"[" * 100_000 + b"]" * 100_000),
        _frame(b"\xff\xfe not json"),
        _frame(b"[1, 2]"),
        _frame(b'{"n": ' + b"9" * 5000 + b"}"),
    ],
    ids=["huge-header", "deep-nesting", "bad-utf8", "not-an-object", "huge-int"],
)
def test_the_channel_refuses_malformed_headers(data: bytes) -> None:
    fd = _pipe_with(data)
    try:
        with pytest.raises(ProtocolViolation):
            read_header(fd, time.monotonic() + 5, 1 << 20)
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "raw",
    [
        {"dtype": "float64", "shape": [-1]},
        {"dtype": "float64", "shape": [1.5]},
        {"dtype": "float64", "shape": [True]},
        {"dtype": "float64", "shape": [2] * 33},
        {"dtype": "float64"},
        "not a dict",
    ],
)
def test_the_channel_refuses_implausible_array_descriptions(raw: object) -> None:
    with pytest.raises(ProtocolViolation):
        parse_meta(raw)


@pytest.mark.parametrize("dtype", ["object", "|O", "int64", "uint8", ">f8", "V8"])
def test_only_float64_and_float32_buffers_are_ever_read(dtype: str) -> None:
    meta = parse_meta({"dtype": dtype, "shape": [4]})
    assert meta.withheld and meta.nbytes == 0


def test_sizes_are_checked_exactly_before_any_byte_is_read() -> None:
    fd = _pipe_with(b"")  # nothing to read: reading would raise ChannelClosed
    try:
        overflowing = parse_meta({"dtype": "float64", "shape": [2**61, 2**61, 16]})
        with pytest.raises(ProtocolViolation, match="announced"):
            read_arrays(fd, [overflowing], time.monotonic() + 5, 1 << 20)
        small_but_marked = ArrayMeta("float64", (2, 2), too_large=True)
        with pytest.raises(ProtocolViolation, match="too large"):
            read_arrays(fd, [small_but_marked], time.monotonic() + 5, 1 << 20)
    finally:
        os.close(fd)


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    """A fresh folder another user can enter (pytest's tmp_path sits under a 0700 one)."""
    folder = Path(tempfile.mkdtemp(prefix="mhsa-nobody-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_uid_mode
def test_an_ordinary_user_gets_the_jail_through_user_namespaces(
    public_tmp: Path,
) -> None:
    if not IS_ROOT or shutil.which("setpriv") is None:
        pytest.fail("this test drops from root to nobody; CI runs as root")
    tmp_path = public_tmp
    # A root grader closes its kit to other users: the ordinary user gets its own copy.
    shutil.copytree(
        KIT_ROOT / "autograder",
        tmp_path / "autograder",
        ignore=shutil.ignore_patterns("__pycache__", "fixtures"),
    )
    for path in [tmp_path / "autograder", *(tmp_path / "autograder").rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    script = tmp_path / "as_nobody.py"
    script.write_text(textwrap.dedent(f"""
            import json, os, sys
            sys.path.insert(0, {str(tmp_path)!r})
            import numpy as np
            from autograder.confine.remote import StudentModule
            from autograder.config import Limits
            from autograder.confine.probe import detect_confinement
            source = (
                "import os\\n"
                "print('SEES', os.path.exists({str(SOLUTION_DIR)!r}), os.getuid())\\n"
                "def create_qkv(i, q, k, v):\\n"
                "    return i @ q, i @ k, i @ v\\n"
            )
            module = StudentModule(source.encode(), Limits())
            x = np.ones((2, 3, 4)); w = np.eye(4)
            outcome = module.call("create_qkv", [x, w, w, w], 10**4)
            module.close()
            print(json.dumps({{"mode": detect_confinement().mode,
                               "returned": type(outcome).__name__,
                               "printed": "".join(module.printed)}}))
            """))
    script.chmod(0o644)
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        + [sys.executable, "-c", "import numpy"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run this interpreter here: {probe.stderr[-200:]!r}")
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        + [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["returned"] == "Returned"
    if facts["mode"] == "jail":  # where the kernel allows user namespaces
        assert "SEES False 0" in facts["printed"]
    else:
        assert facts["mode"] == "plain"


def test_confined_process_survives_a_constructor_failure_without_leaks() -> None:
    gc.collect()  # earlier tests' unreferenced pipes close now, not during the count
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError):
        ConfinedProcess(
            b"",
            [],
            LIMITS,
            confinement=Confinement(False, ("/nonexistent/unshare",), "plain"),
        )
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_root_grader_refuses_to_run_student_code_unconfined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import autograder.confine.probe as probe

    monkeypatch.setattr(probe, "_probe", lambda confinement: "refused for the test")
    monkeypatch.delenv("MHSA_ALLOW_UNCONFINED", raising=False)
    probe.detect_confinement.cache_clear()
    try:
        if IS_ROOT:
            with pytest.raises(SandboxUnavailable, match="MHSA_ALLOW_UNCONFINED"):
                probe.detect_confinement()
        else:
            assert probe.detect_confinement().mode == "plain"
    finally:
        probe.detect_confinement.cache_clear()
