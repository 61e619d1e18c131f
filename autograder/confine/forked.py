"""Children forked from a pre-warmed zygote (``zygote.py``) instead of started afresh.

A fresh confined child spends most of its life starting: a jail's shell script and its
mounts, then Python importing numpy (about 150 ms of CPU per submission on the
development machine). The zygote pays that once per batch; each child is a ``fork`` that
confines itself before it reads the student's file, with the same layers as a fresh child
(``docs/threat-model.md``): in jail mode fresh PID, mount, network, IPC and UTS
namespaces, its own tmpfs root and throwaway uid; in uid mode a throwaway uid of its own.

The process that needs a child first starts the zygote (``ZygoteServer``) and advertises
its socket to the worker processes it starts later (``MHSA_ZYGOTE_JAIL`` or
``MHSA_ZYGOTE_UID``), so one zygote serves the whole batch. ``start_child`` returns a ``ForkedProcess`` when a zygote
serves this mode and a ``process.ConfinedProcess`` (the start-up path) otherwise: plain
mode, ``MHSA_NO_ZYGOTE=1``, or a zygote that cannot start, which is told to staff on stderr
once and never costs a student anything.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.config import CHILD_SOURCE, Limits
from autograder.confine.channel import (
    ChannelClosed,
    ChannelTimeout,
    ProtocolViolation,
    read_header,
)
from autograder.confine.jail import JAIL_WORKDIR, jail_layout, python_binds
from autograder.confine.linux import (
    children_of,
    cpu_seconds_of,
    processes_of,
)
from autograder.confine.mode import PRIVATE_FILE_NAME, SCRUBBED_ENV, Confinement
from autograder.confine.process import (
    PYTHON_FLAGS,
    ConfinedProcess,
    OutputDrain,
    child_rlimits,
)
from autograder.confine.uid import (
    SWEEP_SECONDS,
    SWEEPER_SOURCE,
    UidDrop,
    sweep_uid,
    swept_folders,
    zygote_uid,
)

ZYGOTE_SOURCE = Path(__file__).with_name("zygote.py")
ZYGOTE_SOCKET = "MHSA_ZYGOTE_{}"  # .format(mode.upper()): its socket, for the workers
SOCKET_PATH_MAX = 107  # bytes of a Unix socket's path (sun_path, less its NUL)
NO_ZYGOTE = "MHSA_NO_ZYGOTE"  # "1": every child takes the start-up path
START_SECONDS = 30.0  # the zygote's start (numpy's import) on a busy machine
KILL_SECONDS = 10.0  # a killed child's namespace is empty well before this
MAX_MESSAGE = 1 << 16


class ZygoteUnavailable(Exception):
    """The zygote could not start or stopped answering: use the start-up path."""


def zygote_folder() -> Path:
    """A new folder (0700) for a zygote's socket: in the temporary folder, or in ``/tmp``
    when the temporary folder's path is too long for a socket's (``TMPDIR`` deep in a
    home or scratch folder), which would otherwise start every child afresh."""
    folder = Path(tempfile.mkdtemp(prefix="mhsa-zygote-"))
    if len(os.fsencode(folder / "socket")) <= SOCKET_PATH_MAX:
        return folder
    folder.rmdir()
    return Path(tempfile.mkdtemp(prefix="mhsa-zygote-", dir="/tmp"))


class ZygoteServer:
    """The zygote process, owned by the grader process that started it.

    It dies when its owner does: its lifeline pipe closes, and in jail mode ``unshare
    --kill-child`` then takes its whole namespace (every child included) with it.
    """

    def __init__(self, confinement: Confinement, limits: Limits) -> None:
        self.folder = zygote_folder()  # 0700, the grader's
        self.uid: int | None = None  # uid mode: the zygote's own throwaway uid
        self.path = self.folder / "socket"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        lifeline, self.lifeline = os.pipe()
        try:
            listener.bind(str(self.path))
            listener.listen(64)
            config: dict[str, Any] = {
                "listener": listener.fileno(),
                "lifeline": lifeline,
                "mode": confinement.mode,
            }
            python = [sys.executable, *PYTHON_FLAGS, ZYGOTE_SOURCE.read_text()]
            extra = [CHILD_SOURCE.read_text()]
            if confinement.jail:  # it builds its base jail itself (zygote.py)
                (self.folder / "root").mkdir()
                config["layout"] = jail_layout(limits, python_binds()).as_json()
                config["mountpoint"] = JAIL_WORKDIR
                config["base_root"] = str(self.folder / "root")
                command = [*confinement.namespace_prefix, *python]
            else:
                self.uid = config["zygote_uid"] = zygote_uid()
                command = python
                extra.append(SWEEPER_SOURCE.read_text())
            with open(self.folder / "zygote.log", "wb") as log:
                self.process = subprocess.Popen(
                    [*command, json.dumps(config), *extra],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(), lifeline),
                    cwd=self.folder,
                    env=dict(SCRUBBED_ENV),
                    start_new_session=True,
                )
        except BaseException:
            os.close(self.lifeline)
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        finally:
            listener.close()
            os.close(lifeline)
        self.mode = confinement.mode

    def log(self) -> str:
        """What the zygote printed (why it failed), for staff."""
        try:
            text = (self.folder / "zygote.log").read_text(errors="replace")
        except OSError:
            return ""
        return text.strip()[-500:]

    def stop(self) -> None:
        """End the zygote (and in jail mode every child it made)."""
        with contextlib.suppress(OSError):
            os.close(self.lifeline)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class ZygoteClient:
    """One grader process's connection to a zygote; safe to use from several threads."""

    def __init__(self, path: str, alive: ZygoteServer | None = None) -> None:
        self.server = alive
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.lock = threading.Lock()
        self.exited: dict[int, int] = {}
        self.waiting: dict[int, tuple[dict[str, Any], list[int]]] = {}
        self.ids = iter(range(1, 1 << 62))
        try:
            self.socket.connect(path)
            self._await(lambda m: m.get("op") == "ready", START_SECONDS)
        except (OSError, ZygoteUnavailable) as exc:
            self.socket.close()
            raise ZygoteUnavailable(f"the zygote did not answer ({exc})") from exc

    def _read_one(self, timeout: float) -> bool:
        """Read one message into ``exited`` or ``waiting``; False on timeout."""
        if self.server is not None and self.server.process.poll() is not None:
            raise ZygoteUnavailable(f"the zygote exited: {self.server.log()}")
        self.socket.settimeout(max(timeout, 0.0))
        try:
            data, fds, _, _ = socket.recv_fds(self.socket, MAX_MESSAGE, 1)
        except (TimeoutError, BlockingIOError):  # nothing yet (a zero timeout: polled)
            return False
        except OSError as exc:
            raise ZygoteUnavailable(f"the zygote's socket failed: {exc}") from exc
        if not data:
            raise ZygoteUnavailable("the zygote closed its socket")
        message = json.loads(data)
        if message.get("op") == "exited":
            self.exited[int(message["id"])] = int(message["status"])
        else:
            self.waiting[int(message.get("id", 0))] = (message, fds)
        return True

    def _await(
        self, wanted: Any, seconds: float, job: int = 0
    ) -> tuple[dict[str, Any], list[int]]:
        deadline = time.monotonic() + seconds
        while True:
            found = self.waiting.pop(job, None)
            if found is not None and wanted(found[0]):
                return found
            if not self._read_one(min(deadline - time.monotonic(), 0.5)):
                if time.monotonic() >= deadline:
                    raise ZygoteUnavailable("the zygote did not answer in time")

    def spawn(self, job: dict[str, Any], fds: list[int]) -> tuple[int, int]:
        """Ask for one child; return its id and a pidfd of it."""
        with self.lock:
            job_id = next(self.ids)
            message = json.dumps({**job, "op": "spawn", "id": job_id}).encode()
            try:
                socket.send_fds(self.socket, [message], fds)
            except OSError as exc:
                raise ZygoteUnavailable(f"the zygote's socket failed: {exc}") from exc
            reply, pidfds = self._await(
                lambda m: m.get("op") in ("spawned", "failed"), START_SECONDS, job_id
            )
        if reply["op"] != "spawned" or len(pidfds) != 1:
            for fd in pidfds:
                os.close(fd)
            raise ZygoteUnavailable(f"the zygote could not fork: {reply.get('error')}")
        return job_id, pidfds[0]

    def kill(self, job_id: int) -> int | None:
        """Kill child ``job_id``'s whole tree; its exit status once it is gone."""
        with self.lock:
            if job_id not in self.exited:
                message = json.dumps({"op": "kill", "id": job_id}).encode()
                with contextlib.suppress(OSError):
                    self.socket.send(message)
            deadline = time.monotonic() + KILL_SECONDS
            while job_id not in self.exited and time.monotonic() < deadline:
                with contextlib.suppress(ZygoteUnavailable):
                    if self._read_one(deadline - time.monotonic()):
                        continue
                break
            return self.exited.pop(job_id, None)

    def sweep(self, uid: int) -> bool:
        """uid mode: have the zygote fork ``sweeper.py`` as ``uid``; whether it ran to
        its end (else the caller sweeps the slow way)."""
        with self.lock:
            job_id = next(self.ids)
            message = {"op": "sweep", "id": job_id, "uid": uid}
            message["folders"] = swept_folders()
            try:
                self.socket.send(json.dumps(message).encode())
                deadline = time.monotonic() + SWEEP_SECONDS
                while job_id not in self.exited and time.monotonic() < deadline:
                    self._read_one(deadline - time.monotonic())
            except (OSError, ZygoteUnavailable):
                return False
            return self.exited.pop(job_id, None) == 0

    def status(self, job_id: int) -> int | None:
        """The child's exit status if the zygote has reported it, without waiting."""
        with self.lock:
            with contextlib.suppress(ZygoteUnavailable):
                while self._read_one(0):
                    pass
            return self.exited.get(job_id)


class ForkedProcess:
    """One child forked by the zygote: the interface of ``process.ConfinedProcess``.

    ``uid`` is the submission's throwaway uid, used where the mode drops privileges (as
    root); an ordinary user's jail runs the child as root of its own user namespace.
    """

    def __init__(
        self,
        client: ZygoteClient,
        source: bytes,
        names: list[str],
        limits: Limits,
        confinement: Confinement,
        uid: int | None,
    ) -> None:
        self.client, self.limits, self.confinement = client, limits, confinement
        self.uid = uid if confinement.drop_privileges else None
        self.workdir: Path | None = None
        self._closed = False
        self._status: int | None = None
        self._host_pid: int | None = None
        request_read, self.request_fd = os.pipe()
        self.reply_fd, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        given = [request_read, reply_write, output_write]
        os.set_blocking(self.request_fd, False)
        try:
            if confinement.jail:
                student_file = f"{JAIL_WORKDIR}/{PRIVATE_FILE_NAME}"
                home, tmp = JAIL_WORKDIR, "/tmp"
                given.append(_sealed(source))
            else:
                self.workdir = Path(tempfile.mkdtemp(prefix="mhsa-child-"))
                placement = UidDrop(confinement, self.uid).place(self.workdir, source)
                student_file, home, tmp = (
                    placement.student_file,
                    placement.home,
                    placement.tmp,
                )
            nproc = limits.processes
            if (
                self.uid is None
            ):  # RLIMIT_NPROC counts every process of the grader's uid
                nproc += len(processes_of(os.getuid()))
            job = {
                "uid": self.uid,
                "rlimits": child_rlimits(limits, nproc),
                "env": {**SCRUBBED_ENV, "HOME": home, "TMPDIR": tmp},
                "student_file": student_file,
                "names": names,
                "cwd": os.path.dirname(student_file),
            }
            self.job_id, self.pidfd = client.spawn(job, given)
        except BaseException:
            for fd in (self.request_fd, self.reply_fd, output_read):
                os.close(fd)
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        finally:
            for fd in given:
                os.close(fd)
        self.drain = OutputDrain(
            os.fdopen(output_read, "rb", buffering=0), limits.output_bytes
        )
        self.drain.start()

    def host_pid(self) -> int | None:
        """The child's pid as this process sees it, None once it has exited."""
        if self._host_pid is None and not self._closed:
            self._host_pid = _pid_of(self.pidfd)
        return self._host_pid

    def cpu_seconds(self) -> float | None:
        """CPU time the child has used so far (user and system), None once it is gone."""
        pid = self.host_pid()
        if pid is None or self._closed:
            return None
        exited, _, _ = select.select([self.pidfd], [], [], 0)
        return (
            None if exited else cpu_seconds_of(pid)
        )  # a pid that is still the child's

    def kill(self) -> None:
        """Kill the child's whole process tree, wait until it is gone, remove its files.

        When this returns no process the submission started is running any more (in uid
        mode its uid has been swept, as for a fresh child).
        """
        if self._closed:
            return
        self._closed = True
        self._status = self.client.kill(self.job_id)
        if self._status is None:  # the zygote is gone: the pidfd still names the child
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                select.select([self.pidfd], [], [], KILL_SECONDS)  # readable once dead
        if self.uid is not None and not self.confinement.jail:
            if not self.client.sweep(self.uid) or processes_of(self.uid):
                sweep_uid(self.uid)  # the start-up path's sweep, with its retries
        self.drain.join(timeout=2)
        for fd in (self.request_fd, self.reply_fd, self.pidfd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self.drain.stream.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def exit_status(self) -> int | None:
        """The child's exit code (negative: killed by that signal), None while it runs."""
        if self._closed:
            return self._status
        return self.client.status(self.job_id)


def _sealed(source: bytes) -> int:
    """A memfd holding ``source``, read from its start, that no one can write any more."""
    fd = os.memfd_create(PRIVATE_FILE_NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    view = memoryview(source)
    while view:
        view = view[os.write(fd, view) :]
    import fcntl

    seals = (
        fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
    )
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _pid_of(pidfd: int) -> int | None:
    """The pid (in this process's namespace) of the process ``pidfd`` names, None when it
    has exited."""
    try:
        with open(f"/proc/self/fdinfo/{pidfd}") as info:
            for line in info:
                if line.startswith("Pid:"):
                    pid = int(line.split()[1])
                    return pid if pid > 0 else None
    except (OSError, ValueError):
        return None
    return None


@dataclass
class _Zygotes:
    """This process's zygotes by mode: those it started, its connections, and the modes
    whose zygote failed (with why), which take the start-up path from then on."""

    servers: dict[str, ZygoteServer] = field(default_factory=dict)
    clients: dict[str, ZygoteClient] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_zygotes = _Zygotes()


def _client(confinement: Confinement, limits: Limits) -> ZygoteClient | None:
    """This process's connection to a zygote serving ``confinement``'s mode, started
    here when no earlier process advertised one; None when there is none to be had."""
    mode = confinement.mode
    if mode not in ("jail", "uid") or os.environ.get(NO_ZYGOTE) == "1":
        return None
    with _zygotes.lock:
        if mode in _zygotes.clients or mode in _zygotes.broken:
            return _zygotes.clients.get(mode)
        variable = ZYGOTE_SOCKET.format(mode.upper())
        path = os.environ.get(variable, "")
        try:
            if path and os.path.exists(path):
                client = ZygoteClient(path)
            else:
                server = ZygoteServer(confinement, limits)
                atexit.register(server.stop)  # its folder too, when this process ends
                _zygotes.servers[mode] = server
                try:
                    client = ZygoteClient(str(server.path), server)
                except ZygoteUnavailable as exc:
                    server.stop()
                    raise ZygoteUnavailable(f"{exc}: {server.log()}") from exc
                os.environ[variable] = str(server.path)
        except (OSError, ZygoteUnavailable) as exc:
            _broken(mode, str(exc))
            return None
        _zygotes.clients[mode] = client
        return client


def serving(mode: str) -> ZygoteServer | None:
    """The zygote this process started for ``mode``, if any (its owner's view)."""
    return _zygotes.servers.get(mode)


def zygote_pid(server: ZygoteServer) -> int | None:
    """The zygote's own pid (in jail mode the process ``unshare`` started)."""
    if server.mode != "jail":
        return server.process.pid
    found = children_of(server.process.pid)
    return found[0] if found else None


def _forget_after_fork() -> None:
    """In a forked copy of a grader process (a batch's worker): never share the parent's
    connection to its zygote (replies would cross) nor keep that zygote alive; connect
    afresh, to the zygote the parent advertised, as a started process would. The lock is
    new too: another thread may have held it at the fork."""
    global _zygotes
    inherited, _zygotes = _zygotes, _Zygotes()
    for client in inherited.clients.values():
        with contextlib.suppress(OSError):
            client.socket.close()  # this copy only: the parent's stays open
    for server in inherited.servers.values():
        with contextlib.suppress(OSError):
            os.close(server.lifeline)


os.register_at_fork(after_in_child=_forget_after_fork)


def _broken(mode: str, why: str) -> None:
    """Stop using the zygote of ``mode`` in this process, and tell staff why (once)."""
    if mode in _zygotes.broken:
        return
    _zygotes.broken[mode] = why
    _zygotes.clients.pop(mode, None)
    print(
        f"mhsa sandbox: children start afresh (slower) instead of from the zygote: {why}",
        file=sys.stderr,
    )


def zygote_failed(confinement: Confinement, why: str) -> None:
    """A zygote's child failed before it read the student's file: later children of this
    process take the start-up path (the grader's fault is told to staff, once)."""
    with _zygotes.lock:
        _broken(confinement.mode, why)


def warm_zygote(confinement: Confinement, limits: Limits) -> None:
    """Start (or connect to) the zygote of ``confinement``'s mode now, before a child is
    needed: one submission's grader does it while its static checks run, a batch before
    it forks its workers (which then connect to the zygote it advertises)."""
    _client(confinement, limits)


PROBE_SOURCE = b"import os\nprint('probe-ok', os.getuid())\n"


def probe_forked(
    confinement: Confinement, uid: int | None, expected: int
) -> str | None:
    """Fork one child that says who it is through ``confinement``'s zygote (starting
    it): None when it works, else why not ("" when this mode has no zygote here)."""
    client = _client(confinement, Limits())
    if client is None:
        return ""
    try:
        child = ForkedProcess(client, PROBE_SOURCE, [], Limits(), confinement, uid)
    except ZygoteUnavailable as exc:
        return str(exc)
    try:
        deadline = time.monotonic() + START_SECONDS
        statuses = [read_header(child.reply_fd, deadline, 1 << 10).get("status")]
        statuses.append(read_header(child.reply_fd, deadline, 1 << 10).get("status"))
    except (ChannelClosed, ChannelTimeout, ProtocolViolation) as exc:
        statuses = [f"no answer ({type(exc).__name__})"]
    finally:
        child.kill()
    text = child.drain.text()
    if statuses == ["started", "ready"] and f"probe-ok {expected}" in text:
        return None
    return f"{statuses}: {text.strip()[-300:]}"


def start_child(
    source: bytes,
    names: list[str],
    limits: Limits,
    confinement: Confinement,
    uid: int | None,
) -> ConfinedProcess | ForkedProcess:
    """One confined child for one submission: forked from the zygote where one serves
    this mode, else started afresh."""
    client = _client(confinement, limits)
    if client is not None:
        try:
            return ForkedProcess(client, source, names, limits, confinement, uid)
        except ZygoteUnavailable as exc:
            zygote_failed(confinement, str(exc))
    return ConfinedProcess(source, names, limits, confinement, uid=uid)
