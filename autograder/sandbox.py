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
  ``CAP_SYS_ADMIN``): ``setpriv`` runs the child under a throwaway uid that can read only
  what is world-readable (``protect`` closes the kit's secrets and OUT to others); on kill,
  ``kill(-1)`` under that uid ends every process it left behind and files it left in
  world-writable folders are removed.
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
import json
import os
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

from autograder.config import CHILD_SOURCE, FIXTURES_DIR, SOLUTION_DIR, Limits
from autograder.reachability import uid_mode_obstacle

SANDBOX_UID_BASE = (
    1_000_000  # + the worker's pid: unique per live worker, owned by nobody
)
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


def sandbox_uid() -> int:
    """The throwaway uid for children of this worker process."""
    return SANDBOX_UID_BASE + os.getpid()


def protect(paths: list[Path]) -> None:
    """Close ``paths`` to other users (as root) and make this process non-dumpable.

    A dropped-privilege child then cannot read them, and no child running as the
    grader's own user can read this process's ``/proc/<pid>/environ`` or ptrace it.
    """
    make_undumpable()
    if os.geteuid() != 0:
        return
    for path in paths:
        if path.exists():
            mode = path.stat().st_mode
            path.chmod(mode & ~(stat.S_IRWXO | stat.S_IRWXG))


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


# --- detecting the strongest mode -------------------------------------------------------


def tool(name: str) -> str | None:
    """Absolute path of a system tool (sbin included: chroot lives there)."""
    return shutil.which(name, path=SYSTEM_PATH) or shutil.which(name)


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def python_binds() -> tuple[str, ...]:
    """Folders the child's Python needs, at the paths it uses them (symlinks included).

    A folder that holds the solution or the fixtures is never bound.
    """
    candidates: list[str] = []
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        candidates += [os.path.abspath(prefix), os.path.realpath(prefix)]
    executable = os.path.realpath(sys.executable)
    candidates.append(os.path.dirname(os.path.dirname(executable)))
    secrets = [str(SOLUTION_DIR.resolve()), str(FIXTURES_DIR.resolve())]
    binds: list[str] = []
    for path in sorted(set(candidates), key=len):
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
    try:
        child = ConfinedProcess(
            b"", [], Limits(), confinement=confinement, python_code=code
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
    if confinement.drop_privileges:
        expected = sandbox_uid()
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


def _sweep_uid(uid: int) -> None:
    """Kill every process owned by ``uid`` (it owns nothing but this child's leftovers)."""
    kill = tool("kill")
    for _ in range(20):
        if not processes_of(uid):
            return
        command = (
            [kill, "-9", "-1"]
            if kill
            else [sys.executable, "-I", "-S", "-c", "import os; os.kill(-1, 9)"]
        )
        subprocess.run(
            command,
            user=uid,
            group=uid,
            extra_groups=[],
            check=False,
            env={},
            capture_output=True,
        )
        time.sleep(0.01)


def _remove_files_of(
    uid: int, bases: tuple[str, ...] = ("/tmp", "/var/tmp", "/dev/shm")
) -> None:
    """Delete what ``uid`` left in world-writable folders (the only ones it could write)."""
    for base in bases:
        pending = [base]
        while pending:
            folder = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if info.st_uid == uid:
                    if stat.S_ISDIR(info.st_mode):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
                elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH:
                    pending.append(entry.path)


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
        """What the child printed, decoded leniently and marked when cut."""
        shown = self.kept.decode("utf-8", errors="replace")
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
    ) -> None:
        self.limits = limits
        self.confinement = confinement or detect_confinement()
        mode = self.confinement.mode
        make_undumpable()
        if mode == "plain":
            _subreaper(+1)
        self.uid = sandbox_uid() if self.confinement.drop_privileges else None
        self.workdir = Path(tempfile.mkdtemp(prefix="mhsa-child-"))
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
            private = self.workdir / "work"
            private.mkdir()
            (private / PRIVATE_FILE_NAME).write_bytes(source)
            if self.uid is not None:
                self.workdir.chmod(0o711)
                for path in (private, private / PRIVATE_FILE_NAME):
                    os.chown(path, self.uid, self.uid)
            private.chmod(0o700)
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
            uid = str(self.uid)
            command += [
                tool("setpriv") or "setpriv",
                f"--reuid={uid}",
                f"--regid={uid}",
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
            _sweep_uid(self.uid)
            _remove_files_of(self.uid)
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
    ):
        resource.setrlimit(which, (value, value))
