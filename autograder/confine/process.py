"""Start, confine and kill the child process that runs one submission's code.

``detect_confinement`` probes once per process which of three modes works, strongest first,
by really starting Python with numpy through it:

- ``jail`` (root, or an ordinary user where the kernel grants user namespaces): util-linux
  ``unshare`` gives the child new PID, network, mount, IPC and UTS namespaces. Inside, a
  shell script mounts a size-capped tmpfs as the child's whole root filesystem, binds into
  it read-only only what Python needs (``/usr``, the interpreter's and the venv's prefixes,
  a few device nodes, a fresh ``/proc``), then ``chroot`` and ``setpriv`` start Python with
  no capabilities, ``no_new_privs`` and, as root, a throwaway uid. The solution, fixtures,
  other submissions, results and every other process are simply absent; there is no
  network; files the child writes vanish with its tmpfs. Killing the namespace's first
  process kills every process the submission started, ``setsid`` or not.
- ``uid`` (root where namespaces are refused, e.g. a Docker container without
  ``CAP_SYS_ADMIN``): ``setpriv`` runs the child under a throwaway uid, fresh for each
  submission, that can read only what is world-readable (``protect`` closes the whole kit
  but the interpreter, the submissions and OUT to others). Its private folder and file
  belong to that uid, with their final modes, before any other user can reach them. On
  kill, ``sweeper.py`` runs as that uid (never as root, so no removal can be steered by a
  symlink): ``kill(-1)`` ends every process it left behind, and its files in world-writable
  folders and its SysV IPC objects are removed; ``RLIMIT_MSGQUEUE = 0`` stops POSIX queues.
- ``plain`` (an ordinary user without user namespaces): a private folder, the process
  group, and ``PR_SET_CHILD_SUBREAPER`` so escapees that ``setsid`` are reparented to the
  grader and killed; the grader makes itself non-dumpable so the child cannot read its
  ``/proc/<pid>/environ`` or ptrace it. The child can read what the grader's user can.

Always: a scrubbed environment, rlimits (CPU, address space, file size, open files,
processes, no core dumps), no inherited descriptors beyond the request and reply pipes and
the drained output pipe, its own session, and a wall-clock deadline enforced by the caller.
See ``docs/threat-model.md``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import json
import os
import re
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from autograder.config import (
    CHILD_SOURCE,
    FIXTURES_DIR,
    PACKAGE_DIR,
    SOLUTION_DIR,
    Limits,
)
from autograder.confine.reachability import uid_mode_obstacle
from autograder.confine.untrusted import safe_text

# Sandbox uids: SANDBOX_UID_BASE + (grader pid << UID_BITS) + a counter, so every submission
# of every grader process on the machine gets its own uid, owned by nobody.
SANDBOX_UID_BASE = 1 << 31
UID_BITS = 8  # submissions one grader process grades before its uids come round again
PID_LIMIT = 1 << 22  # Linux's largest pid_max: the uids stay below 2**31 + 2**30
SWEEPER_SOURCE = PACKAGE_DIR / "confine" / "sweeper.py"
SWEPT_FOLDERS = (
    "/tmp",
    "/var/tmp",
    "/dev/shm",
    "/run/lock",
    "/var/lock",
    "/dev/mqueue",
)
SWEEP_SECONDS = 30.0
PRIVATE_FILE_NAME = "mhsa.py"
JAIL_WORKDIR = "/workdir"  # the child's private folder inside its jail
JAIL_DEVICES = ("null", "zero", "full", "random", "urandom")
JAIL_SETUP_FAILED = 97  # exit code of the jail script when a mount fails
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PROBE_SECONDS = 30.0
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SCRUBBED_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


class SandboxUnavailable(RuntimeError):
    """As root, neither the jail nor the uid drop works: grading would run code as root."""


@dataclass(frozen=True)
class Confinement:
    """Which isolation layers this machine grants the grader."""

    drop_privileges: bool
    namespace_prefix: tuple[str, ...]
    mode: str = "plain"  # "jail", "uid" or "plain" (see the module docstring)
    note: str = ""  # why a stronger mode was not available

    @property
    def jail(self) -> bool:
        """Namespaces and a private root filesystem."""
        return self.mode == "jail"

    def describe(self) -> str:
        """One line for logs and the threat model."""
        parts = []
        if self.jail:
            parts.append(
                "PID/network/mount/IPC namespaces, private tmpfs root, no capabilities"
            )
        if self.drop_privileges:
            parts.append("unprivileged uid")
        if self.mode == "plain":
            parts.append("process group and subreaper, non-dumpable grader")
        parts.append("rlimits, scrubbed environment, private folder")
        return f"{self.mode}: " + ", ".join(parts)


_uid_counter = itertools.count()


def uids_of(pid: int) -> range:
    """Every sandbox uid grader process ``pid`` may hand out."""
    first = SANDBOX_UID_BASE + ((pid % PID_LIMIT) << UID_BITS)
    return range(first, first + (1 << UID_BITS))


def new_sandbox_uid() -> int:
    """A throwaway uid for one submission: no other submission ever shares it.

    Should a crashed earlier grader with this pid have left processes under it, they are
    swept first (uid mode leaves nothing else behind: ``sweep_uid``).
    """
    uids = uids_of(os.getpid())
    uid = uids[next(_uid_counter) % len(uids)]
    if os.geteuid() == 0 and processes_of(uid):
        sweep_uid(uid)
    return uid


def protect(paths: list[Path]) -> None:
    """Close ``paths`` to other users (as root) and make this process non-dumpable.

    A dropped-privilege child then cannot read them, and no child running as the
    grader's own user can read this process's ``/proc/<pid>/environ`` or ptrace it.
    A folder holding what the interpreter needs (a venv inside the kit) stays traversable
    but unlistable, the way to the interpreter stays open and everything beside it closes;
    the interpreter's venv is opened if an earlier run closed it, and other venvs (third-party
    code of another Python) are left as they are.
    """
    make_undumpable()
    if os.geteuid() != 0:
        return
    needed = [Path(p) for p in interpreter_paths()]
    for path in paths:
        _close(path, needed)


def _close(path: Path, needed: list[Path]) -> None:
    """Close ``path`` to others, except the way to (and the whole of) ``needed`` folders."""
    try:
        info = path.lstat()
    except OSError:
        return
    if stat.S_ISLNK(info.st_mode):
        return  # a link is closed by closing what it points to
    inside = [p for p in needed if p == path or path in p.parents]
    if any(p == path for p in inside):  # the interpreter's own folder: reachable
        path.chmod(stat.S_IMODE(info.st_mode) | stat.S_IROTH | stat.S_IXOTH)
        return
    if (path / "pyvenv.cfg").is_file():
        return  # another venv (a second Python's): third-party code, left as it is
    closed = info.st_mode & ~(stat.S_IRWXO | stat.S_IRWXG)
    if not inside or not stat.S_ISDIR(info.st_mode):
        path.chmod(stat.S_IMODE(closed))
        return
    path.chmod(stat.S_IMODE(closed | stat.S_IXOTH))  # traverse only: no listing
    for entry in path.iterdir():
        _close(entry, inside)


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


_live_plain_children = [0]


def _subreaper(change: int) -> None:
    """Be the subreaper (orphans of our children become ours) while plain children live."""
    _live_plain_children[0] += change
    _prctl(PR_SET_CHILD_SUBREAPER, 1 if _live_plain_children[0] > 0 else 0)


def make_undumpable() -> None:
    """Make ``/proc/<this pid>`` root-owned: no same-uid reading of environ, no ptrace."""
    _prctl(PR_SET_DUMPABLE, 0)


ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.")


def exposed_assignments(pid: int | None = None) -> list[str]:
    """Names of ``NAME=value`` words on the command lines of this process and its
    ancestors (``make grade TOKEN=...``).

    Without a PID namespace, every user reads every ``/proc/<pid>/cmdline``: in uid mode
    student code could read those values. The grader cannot hide another process's
    command line, so it names them for staff (never the values).
    """
    names: list[str] = []
    pid = os.getpid() if pid is None else pid
    while pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as source:
                words = source.read().split(b"\0")
        except OSError:
            break
        for word in words:
            text = word.decode("utf-8", "replace")
            if ASSIGNMENT.match(text):
                names.append(text.split("=", 1)[0])
        fields = _stat_fields(pid)
        pid = int(fields[1]) if fields and fields[1].isdigit() else 0
    return sorted(set(names))


# --- detecting the strongest mode -------------------------------------------------------


def tool(name: str) -> str | None:
    """Absolute path of a system tool (sbin included: chroot lives there)."""
    return shutil.which(name, path=SYSTEM_PATH) or shutil.which(name)


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def interpreter_paths() -> tuple[str, ...]:
    """Folders the interpreter needs (its prefixes, the venv's), symlinks resolved or not."""
    candidates: list[str] = []
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        candidates += [os.path.abspath(prefix), os.path.realpath(prefix)]
    executable = os.path.realpath(sys.executable)
    candidates.append(os.path.dirname(os.path.dirname(executable)))
    return tuple(sorted(set(candidates)))


def python_binds() -> tuple[str, ...]:
    """Folders the child's Python needs, at the paths it uses them (symlinks included).

    A folder that holds the solution or the fixtures is never bound.
    """
    secrets = [str(SOLUTION_DIR.resolve()), str(FIXTURES_DIR.resolve())]
    binds: list[str] = []
    for path in sorted(interpreter_paths(), key=len):
        if path in ("/", "") or _under(path, "/usr") or not os.path.isdir(path):
            continue
        if any(_under(secret, path) for secret in secrets):
            continue
        if not any(_under(path, bound) for bound in binds):
            binds.append(path)
    return tuple(binds)


def jail_script(
    root: str,
    source: str,
    python_binds: tuple[str, ...],
    uid: int | None,
    limits: Limits,
) -> str:
    """The shell script that builds the child's root filesystem, then starts ``$@`` in it.

    It runs as (namespace) root inside the new namespaces; every path in it comes from the
    grader, never from the submission.
    """
    q = shlex.quote
    jail = root.rstrip("/")
    tmpfs = (
        f"size={max(4 * limits.file_bytes, 16 << 20)},nr_inodes=4096,"
        "mode=755,nosuid,nodev"
    )
    jail_at = '"$R"'  # every path below is under the jail; no cd (it would set PWD)
    lines = [
        f"R={q(jail)}",
        f"mount -t tmpfs -o {tmpfs} mhsa-jail {jail_at}",
    ]
    folders = ["usr", "proc", "dev", "etc", "tmp", "dev/shm", JAIL_WORKDIR.strip("/")]
    binds = [("/usr", "usr")]
    links = []
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = "/" + name
        if os.path.islink(host):
            links.append((os.readlink(host), name))
        elif os.path.isdir(host):
            folders.append(name)
            binds.append((host, name))
    for path in python_binds:
        folders.append(path.strip("/"))
        binds.append((path, path.strip("/")))
    lines.append("mkdir -p " + " ".join(f"{jail_at}/{q(f)}" for f in folders))
    lines += [f"ln -s {q(target)} {jail_at}/{name}" for target, name in links]
    lines += [
        f"mount --bind -o ro,nosuid,nodev {q(host)} {jail_at}/{q(inside)}"
        for host, inside in binds
    ]
    nodes = [f"dev/{device}" for device in JAIL_DEVICES]
    if os.path.isfile("/etc/ld.so.cache"):
        nodes.append("etc/ld.so.cache")
    lines.append("touch " + " ".join(f"{jail_at}/{node}" for node in nodes))
    lines += [
        f"mount --bind {'-o ro ' if node.startswith('etc') else ''}/{node} {jail_at}/{node}"
        for node in nodes
    ]
    work = f"{jail_at}{JAIL_WORKDIR}"
    lines += [
        f"ln -s /proc/self/fd {jail_at}/dev/fd",
        f"chmod 1777 {jail_at}/tmp {jail_at}/dev/shm",
        f"mount -t proc -o nosuid,nodev,noexec proc {jail_at}/proc",
        f"cp {q(source)} {work}/{PRIVATE_FILE_NAME}",
    ]
    if uid is not None:
        lines.append(f"chown -R {uid}:{uid} {work}")
    lines.append(f"chmod 700 {work}")
    drop = ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    if uid is not None:
        drop = [f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *drop]
    setup = " &&\n".join(lines)  # the first failure stops the setup
    chroot, setpriv = tool("chroot") or "chroot", tool("setpriv") or "setpriv"
    return (
        "exec 2>&1\n"  # the child's stderr joins its stdout; unshare's own stays silent
        f"PATH={SYSTEM_PATH}\n"
        f"{{\n{setup}\n}} </dev/null >/dev/null 2>&1 || exit {JAIL_SETUP_FAILED}\n"
        f"PATH={SCRUBBED_ENV['PATH']}\n"
        "unset PWD OLDPWD\n"
        f"exec {q(chroot)} \"$R\" {q(setpriv)} {' '.join(drop)} -- \"$@\"\n"
    )


def _unshare_prefix(user_namespace: bool) -> tuple[str, ...]:
    command = [tool("unshare") or "unshare"]
    if user_namespace:
        command += ["--user", "--map-root-user"]
    command += ["--pid", "--fork", "--kill-child", "--net", "--mount", "--ipc", "--uts"]
    return tuple(command)


def _probe(confinement: Confinement) -> str | None:
    """Start Python with numpy under ``confinement``; None when that works, else why not."""
    code = "import numpy, os; print('probe-ok', os.getuid())"
    uid = new_sandbox_uid() if confinement.drop_privileges else None
    try:
        child = ConfinedProcess(
            b"", [], Limits(), confinement=confinement, python_code=code, uid=uid
        )
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        deadline = time.monotonic() + PROBE_SECONDS
        while child.exit_status() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        child.kill()
    text = child.drain.text()
    if uid is not None:
        expected = uid
    else:
        expected = 0 if confinement.jail else os.getuid()  # root of its user namespace
    if child.exit_status() == 0 and f"probe-ok {expected}" in text:
        return None
    return f"exit status {child.exit_status()}: {text.strip()[-300:]}"


@functools.lru_cache(maxsize=1)
def detect_confinement() -> Confinement:
    """Probe once which mode works here: jail, then uid (as root), then plain.

    As root, plain mode is refused (``SandboxUnavailable``) unless
    ``MHSA_ALLOW_UNCONFINED=1``: it would run student code with the grader's privileges.
    """
    is_root = os.geteuid() == 0
    notes: list[str] = []
    has_tools = all(tool(t) for t in ("unshare", "setpriv", "mount", "chroot", "sh"))
    if os.environ.get("MHSA_NO_NAMESPACES") == "1":
        notes.append("namespaces disabled by MHSA_NO_NAMESPACES=1")
    elif not has_tools:
        notes.append("unshare, setpriv, mount or chroot is missing")
    else:
        jail = Confinement(is_root, _unshare_prefix(not is_root), "jail")
        problem = _probe(jail)
        if problem is None:
            return jail
        notes.append(f"jail refused ({problem})")
    if is_root and tool("setpriv"):
        uid_mode = Confinement(True, (), "uid", "; ".join(notes))
        problem = uid_mode_obstacle() or _probe(uid_mode)
        if problem is None:
            return uid_mode
        notes.append(f"uid drop refused ({problem})")
    if is_root and os.environ.get("MHSA_ALLOW_UNCONFINED") != "1":
        # Plain mode as root would run student code as root: refuse rather than grade.
        raise SandboxUnavailable(
            "student code cannot be confined here (" + "; ".join(notes) + "); "
            "make the interpreter reachable by other users or allow namespaces, "
            "or set MHSA_ALLOW_UNCONFINED=1 to run it as root anyway"
        )
    plain = Confinement(False, (), "plain", "; ".join(notes))
    print(
        f"mhsa sandbox: weakest confinement only ({'; '.join(notes)})",
        file=sys.stderr,
    )
    return plain


# --- processes ---------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state is first)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as source:
            raw = source.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].decode("ascii", "replace").split()


def children_of(parent: int, zombies: bool = False) -> list[int]:
    """Processes whose parent is ``parent`` (zombies only when asked)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and fields[1] == str(parent) and (zombies or fields[0] != "Z"):
                found.append(int(entry.name))
    return found


def processes_of(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real uid is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
        except OSError:
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _wait_gone(pid: int, seconds: float) -> bool:
    """Wait until ``pid`` is a zombie or gone (a namespace's init: its namespace is empty)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fields = _stat_fields(pid)
        if fields is None or fields[0] == "Z":
            return True
        time.sleep(0.005)
    return False


def sweep_uid(uid: int) -> None:
    """End everything ``uid`` left behind, running ``sweeper.py`` as that uid (never root).

    Its processes are killed, its files in world-writable folders and its SysV IPC objects
    removed. As root, nothing of it can be steered into removing another user's files. The
    sweeper runs on the base interpreter (no venv, no site), so it needs no more than the
    child did; should it still fail, the uid's processes are killed with ``kill`` and staff
    are told what may be left.
    """
    folders = [folder for folder in SWEPT_FOLDERS if os.path.isdir(folder)]
    python = os.path.realpath(sys.executable)
    command = [python, "-I", "-S", "-c", SWEEPER_SOURCE.read_text(), *folders]
    for _ in range(3):  # a sweeper killed by a racing fork bomb's limit is run again
        try:
            swept = _run_as(uid, command).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            swept = False
        if swept and not processes_of(uid):
            return
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            _run_as(uid, [tool("kill") or "kill", "-9", "-1"])
    if swept and not processes_of(uid):
        return
    print(
        f"mhsa sandbox: the sweep of uid {uid} failed; its files or IPC objects may be left",
        file=sys.stderr,
    )


def _run_as(uid: int, command: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        command,
        user=uid,
        group=uid,
        extra_groups=[],
        check=False,
        env={},
        cwd="/",
        capture_output=True,
        timeout=SWEEP_SECONDS,
    )


class OutputDrain(threading.Thread):
    """Read the child's stdout/stderr to the end, keeping only the first bytes."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.kept = bytearray()
        self.total = 0

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(self.stream.fileno(), 65536):
                self.total += len(chunk)
                room = self.cap - len(self.kept)
                if room > 0:
                    self.kept += chunk[:room]

    def text(self) -> str:
        """What the child printed, decoded leniently, made safe and marked when cut."""
        shown = safe_text(self.kept.decode("utf-8", errors="replace"), self.cap)
        if self.total > len(self.kept):
            shown += f"\n[... {self.total - len(self.kept)} more bytes not kept]"
        return shown


class ConfinedProcess:
    """One live child running one student's file, and the means to end it for good.

    ``request_fd`` (grader -> child, non-blocking) and ``reply_fd`` (child -> grader) carry
    the frames of ``channel``; the child's stdout and stderr go to ``drain``.
    """

    def __init__(
        self,
        source: bytes,
        names: list[str],
        limits: Limits,
        confinement: Confinement | None = None,
        python_code: str | None = None,
        uid: int | None = None,
    ) -> None:
        self.limits = limits
        self.confinement = confinement or detect_confinement()
        mode = self.confinement.mode
        make_undumpable()
        if mode == "plain":
            _subreaper(+1)
        self.uid = None
        if self.confinement.drop_privileges:
            self.uid = uid if uid is not None else new_sandbox_uid()
        self.workdir = Path(tempfile.mkdtemp(prefix="mhsa-child-"))  # 0700, root's
        self._closed = False
        self._children_before = (
            set(children_of(os.getpid(), zombies=True)) if mode == "plain" else set()
        )
        host_file = self.workdir / PRIVATE_FILE_NAME
        private = self.workdir
        if mode == "jail":
            (self.workdir / "root").mkdir()
            host_file.write_bytes(source)
            student_file = f"{JAIL_WORKDIR}/{PRIVATE_FILE_NAME}"
            cwd = str(self.workdir)
            home = JAIL_WORKDIR
            tmp = "/tmp"
        else:
            private = _private_folder(self.workdir, source, self.uid)
            student_file = str(private / PRIVATE_FILE_NAME)
            cwd = home = tmp = str(private)
        request_read, self.request_fd = os.pipe()
        self.reply_fd, reply_write = os.pipe()
        os.set_blocking(self.request_fd, False)
        python = [sys.executable, "-I", "-B", "-u", "-c"]
        if python_code is None:
            python += [
                CHILD_SOURCE.read_text(),
                student_file,
                json.dumps(names),
                str(reply_write),
            ]
        else:
            python.append(python_code)
        command = [*self.confinement.namespace_prefix]
        if mode == "jail":
            script = jail_script(
                str(self.workdir / "root"),
                str(host_file),
                python_binds(),
                self.uid,
                limits,
            )
            command += [tool("sh") or "sh", "-c", script, "mhsa-jail", *python]
        elif self.uid is not None:
            command += [
                tool("setpriv") or "setpriv",
                f"--reuid={self.uid}",
                f"--regid={self.uid}",
                "--clear-groups",
                "--no-new-privs",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
                *python,
            ]
        else:
            command += python
        nproc = limits.processes
        if self.uid is None:  # RLIMIT_NPROC counts every process of the grader's uid
            nproc += len(processes_of(os.getuid()))
        env = {**SCRUBBED_ENV, "HOME": home, "TMPDIR": tmp}
        try:
            self.process = subprocess.Popen(
                command,
                stdin=request_read,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL if mode == "jail" else subprocess.STDOUT,
                pass_fds=(reply_write,),
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=functools.partial(_apply_rlimits, limits, nproc),
            )
        except BaseException:
            for fd in (request_read, reply_write, self.request_fd, self.reply_fd):
                os.close(fd)
            shutil.rmtree(self.workdir, ignore_errors=True)
            if mode == "plain":
                _subreaper(-1)
            raise
        os.close(request_read)
        os.close(reply_write)
        assert self.process.stdout is not None
        self.drain = OutputDrain(self.process.stdout, limits.output_bytes)
        self.drain.start()

    def kill(self) -> None:
        """Kill the child's whole process tree, wait until it is gone, remove its files.

        When this returns no process the submission started is running any more.
        """
        if self._closed:
            return
        self._closed = True
        leader = self.process.pid
        mode = self.confinement.mode
        inits: list[int] = []
        if self.process.poll() is None:
            if mode == "jail":
                # The namespace's init: killing it from outside (it cannot refuse) kills
                # every process in the namespace, setsid or not; unshare then reaps it.
                inits = self._namespace_init()
                for pid in inits:
                    _kill(pid)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=5)
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(leader, signal.SIGKILL)
        self.process.wait()
        for pid in inits:
            _wait_gone(pid, 10.0)
        if self.uid is not None and mode == "uid":
            sweep_uid(self.uid)
        if mode == "plain":
            self._reap_escapees()
            _subreaper(-1)
        self.drain.join(timeout=2)
        for fd in (self.request_fd, self.reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.process.stdout is not None:
            with contextlib.suppress(OSError):
                self.process.stdout.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _namespace_init(self) -> list[int]:
        """The first process in the child's namespaces (unshare's only child)."""
        deadline = time.monotonic() + 2.0
        while self.process.poll() is None and time.monotonic() < deadline:
            found = children_of(self.process.pid)
            if found:
                return found
            time.sleep(0.002)  # unshare has not forked yet
        return []

    def _reap_escapees(self) -> None:
        """Kill and reap descendants reparented to this subreaper (they escaped the group)."""
        quiet_rounds = 0
        for _ in range(200):
            escaped = (
                set(children_of(os.getpid(), zombies=True)) - self._children_before
            )
            if not escaped:
                quiet_rounds += 1
                if quiet_rounds >= 3:
                    return
                time.sleep(0.005)
                continue
            quiet_rounds = 0
            for pid in escaped:
                _kill(pid)
            for pid in escaped:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def exit_status(self) -> int | None:
        """The child's exit code (negative: killed by that signal), None while it runs."""
        return self.process.poll()


def _private_folder(workdir: Path, source: bytes, uid: int | None) -> Path:
    """``workdir/work/mhsa.py``, owned by ``uid`` with its final modes before anyone else
    can reach it: ``workdir`` (0700, root's) opens to others (0711) only at the end."""
    folder = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.mkdir("work", 0o700, dir_fd=folder)
        private = os.open(
            "work", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder
        )
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            handle = os.open(PRIVATE_FILE_NAME, flags, 0o600, dir_fd=private)
            try:
                if uid is not None:
                    os.fchown(handle, uid, uid)
                view = memoryview(source)
                while view:
                    view = view[os.write(handle, view) :]
            finally:
                os.close(handle)
            if uid is not None:
                os.fchown(private, uid, uid)
        finally:
            os.close(private)
        if uid is not None:
            os.fchmod(folder, 0o711)  # only now can the sandbox uid reach its folder
    finally:
        os.close(folder)
    return workdir / "work"


def _apply_rlimits(limits: Limits, nproc: int) -> None:
    """Runs in the forked child before exec: the kernel enforces these from then on.

    Also asks for SIGKILL should the grader die first, so a child never outlives it.
    """
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    for which, value in (
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MSGQUEUE, 0),  # no POSIX message queue outlives the child
    ):
        resource.setrlimit(which, (value, value))
