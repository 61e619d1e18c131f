"""The pre-warmed process that forks one confined child per submission (the zygote).

It imports numpy once, then serves the grader's processes over a Unix socket: for each
``spawn`` request it forks (in jail mode into a PID namespace made for that one child), and
the forked process confines itself (its other fresh namespaces, private root, throwaway
uid, rlimits, no capabilities, closed descriptors) before it reads a single byte of the
student's file, then runs ``child.py`` as a freshly started child would.
The zygote itself never reads a student byte: the file reaches the child as a descriptor
(a sealed memfd in jail mode) or in the private folder the grader made (uid mode).

Where it runs: in jail mode inside a base jail of its own (``enter_base_jail``, the first
thing it does: the children's layout without a student file, capabilities kept): PID,
mount, network, IPC and UTS namespaces and a tmpfs root holding only what Python needs, so
neither it nor its children can reach the kit, the fixtures or the network. In uid mode
(root without namespaces) it switches to a throwaway uid of its own and keeps only the
capabilities it needs to hand each child a fresh uid (``CAP_SETUID``, ``CAP_SETGID``,
``CAP_SETPCAP``, ``CAP_KILL``): the kit, closed to other users, is closed to it too.

Like ``child.py`` it imports nothing from the grader: the grader passes this file's text
to ``python -I -B -u -c`` with a JSON configuration and ``child.py``'s text as arguments.
Messages (``SOCK_SEQPACKET``, one JSON object each, descriptors alongside):

- grader -> zygote: ``{"op": "spawn", "id": n, ...}`` with the child's request, reply and
  output descriptors (and the memfd holding the file in jail mode); ``{"op": "kill", "id":
  n}``; in uid mode ``{"op": "sweep", "id": n, "uid": u, "folders": [...]}``, which forks
  ``sweeper.py`` as that uid.
- zygote -> grader: ``{"op": "ready"}`` once per connection; ``{"op": "spawned", "id": n}``
  with a pidfd of the child, or ``{"op": "failed", "id": n, "error": ...}``; ``{"op":
  "exited", "id": n, "status": s}`` once the child (and in jail mode every process of its
  namespace) or the sweeper is gone.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import types
from typing import Any, NoReturn

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CHILD_NAMESPACES = (
    CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_KEEPCAPS = 1, 4, 8
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP = 5, 6, 7, 8
CAPABILITY_VERSION_3 = 0x20080522
MAX_MESSAGE = 1 << 16
MAX_FDS = 4
CHILD_FAILED = 97  # exit status of a child that could not confine itself

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _mount(
    source: str | None, target: str, kind: str | None, flags: int, data: str = ""
) -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            kind.encode() if kind else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _set_capabilities(keep: int) -> None:
    """Effective and permitted capabilities become ``keep`` (a mask), inheritable none."""
    header = _CapHeader(CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = keep & 0xFFFFFFFF
    data[1].effective = data[1].permitted = keep >> 32
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def _drop_bounding_set(keep: int = 0) -> None:
    """Remove every capability but ``keep`` from the bounding set: no exec regains one."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as source:
            last = int(source.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        if not keep & (1 << cap):
            _prctl(PR_CAPBSET_DROP, cap)


def _bind_flags(host: str) -> int:
    """Flags a read-only remount of a bind of ``host`` keeps: those the kernel may have
    locked on it (a mount seen from a user namespace), plus read-only, nosuid, nodev."""
    have = os.statvfs(host).f_flag
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
    flags |= have & MS_NOEXEC
    for statvfs_flag, mount_flag in (
        (1024, MS_NOATIME),
        (2048, MS_NODIRATIME),
        (4096, MS_RELATIME),
    ):
        if have & statvfs_flag:
            flags |= mount_flag
    return flags


def build_tree(layout: dict[str, Any], root: str) -> None:
    """Mount a fresh tmpfs at ``root`` and lay ``layout`` out in it (``jail.JailLayout``):
    folders, links, read-only binds, device nodes, ``/proc``. Runs as namespace root."""
    os.umask(layout["umask"])
    _mount("mhsa-jail", root, "tmpfs", MS_NOSUID | MS_NODEV, layout["tmpfs"])
    for folder in layout["folders"]:
        os.makedirs(f"{root}/{folder}", exist_ok=True)
    for target, name in layout["links"]:
        os.symlink(target, f"{root}/{name}")
    for host, inside in layout["binds"]:
        _mount(host, f"{root}/{inside}", None, MS_BIND)
        _mount(None, f"{root}/{inside}", None, _bind_flags(host))
    for node in layout["nodes"]:
        os.close(os.open(f"{root}/{node}", os.O_WRONLY | os.O_CREAT, 0o644))
        _mount(f"/{node}", f"{root}/{node}", None, MS_BIND)
        if node.startswith("etc"):
            _mount(None, f"{root}/{node}", None, _bind_flags(f"/{node}"))
    os.symlink("/proc/self/fd", f"{root}/dev/fd")
    os.chmod(f"{root}/tmp", 0o1777)
    os.chmod(f"{root}/dev/shm", 0o1777)
    _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def enter_base_jail(layout: dict[str, Any], root: str) -> None:
    """jail mode, first thing in the zygote (fresh namespaces from ``unshare``): build its
    own root as each child's is built, without a student file, and ``chroot`` into it, so
    neither the zygote nor its children can reach the kit. Capabilities are kept: each
    child builds its own root in turn."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing propagates to the host
    root = root.rstrip("/")
    build_tree(layout, root)
    os.chmod(f"{root}/{layout['workdir']}", 0o700)
    os.chdir(root)
    os.chroot(".")
    os.chdir("/")


def build_root(
    layout: dict[str, Any], mountpoint: str, source_fd: int, uid: int | None
) -> str:
    """Build this child's root (a fresh tmpfs) from ``layout``, put the student's file in
    its workdir, and return the root's path. Runs as namespace root, before any student
    byte is read (the file is copied as data, never run)."""
    _mount(
        None, "/", None, MS_REC | MS_PRIVATE
    )  # nothing propagates back to the zygote
    root = mountpoint.rstrip("/")
    build_tree(layout, root)
    work = f"{root}/{layout['workdir']}"
    target = os.open(
        f"{work}/mhsa.py", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600
    )
    try:
        while chunk := os.read(source_fd, 1 << 20):
            view = memoryview(chunk)
            while view:
                view = view[os.write(target, view) :]
        if uid is not None:
            os.fchown(target, uid, uid)
    finally:
        os.close(target)
    os.close(source_fd)
    if uid is not None:
        os.chown(work, uid, uid)
    os.chmod(work, 0o700)
    return root


def drop_privileges(uid: int | None) -> None:
    """No capabilities (bounding set included), no new privileges, and ``uid`` (with no
    groups) when given. Must follow every step that needs a capability."""
    _drop_bounding_set()
    if uid is not None:
        _prctl(PR_SET_KEEPCAPS, 0)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _set_capabilities(0)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def apply_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        which = getattr(resource, name)
        resource.setrlimit(which, (value, value))


def become_child(job: dict[str, Any], fds: list[int], child: types.ModuleType) -> None:
    """Confine this forked process for one submission, then run ``child.py``'s main. In
    jail mode it is already the first process of a PID namespace of its own."""
    status = CHILD_FAILED
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        request_fd, reply_fd, output_fd = fds[:3]
        uid = job.get("uid")
        os.setsid()
        if job["mode"] == "jail":
            _check(_libc.unshare(CHILD_NAMESPACES & ~CLONE_NEWPID), "unshare")
            root = build_root(job["layout"], job["mountpoint"], fds[3], uid)
            os.chdir(root)
            os.chroot(".")
        os.dup2(request_fd, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        if reply_fd != 3:
            os.dup2(reply_fd, 3)
        # Every other descriptor the zygote held is below its own limit, not yet lowered.
        os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        drop_privileges(uid)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        apply_limits(job["rlimits"])
        os.environ.clear()
        os.environ.update(job["env"])
        os.chdir(job["cwd"])
        sys.argv = ["-c", job["student_file"], json.dumps(job["names"]), "3"]
        status = 0
        child.main()
    except BaseException as exc:  # noqa: B036 - the child ends here whatever happened
        if status == CHILD_FAILED:
            try:
                os.write(
                    2,
                    f"mhsa zygote: the child could not confine itself: {exc}\n".encode(),
                )
            except OSError:
                pass
    finally:
        os._exit(status)


def become_sweeper(uid: int, folders: list[str], sweeper: types.ModuleType) -> None:
    """uid mode: as ``uid`` (never as the zygote), end what that uid left behind
    (``sweeper.py``'s main, as ``uid.sweep_uid`` would start it)."""
    status = CHILD_FAILED
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        drop_privileges(uid)
        sys.argv = ["-c", *folders]
        sweeper.main()
        status = 0
    except SystemExit:
        status = 1
    except BaseException:  # noqa: B036, S110 - the grader sweeps afresh on any failure
        pass
    finally:
        os._exit(status)


class Zygote:
    """The server loop: accept the grader's connections, fork children, report exits."""

    def __init__(
        self,
        listener: socket.socket,
        lifeline: int,
        config: dict[str, Any],
        modules: dict[str, types.ModuleType],
    ) -> None:
        self.listener, self.lifeline, self.config = listener, lifeline, config
        self.child, self.sweeper = modules["child"], modules.get("sweeper")
        self.clients: dict[socket.socket, dict[int, int]] = (
            {}
        )  # connection -> id -> pid
        self.owners: dict[int, tuple[socket.socket, int]] = (
            {}
        )  # pid -> (connection, id)
        # jail mode: its own PID namespace, taken back after each child's fork (_fork)
        self.pid_namespace = (
            os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            if config["mode"] == "jail"
            else -1
        )
        self.wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_write)

    def serve(self) -> None:
        while True:
            watched: list[Any] = [self.listener, self.lifeline, self.wake_read]
            watched += list(self.clients)
            try:
                ready, _, _ = select.select(watched, [], [])
            except InterruptedError:
                continue
            if self.lifeline in ready:
                return  # the grader that started the zygote is gone
            if self.wake_read in ready:
                os.read(self.wake_read, 4096)
            self._reap()
            if self.listener in ready:
                connection, _ = self.listener.accept()
                self.clients[connection] = {}
                self._send(connection, {"op": "ready"})
            for connection in [
                c for c in ready if isinstance(c, socket.socket) and c in self.clients
            ]:
                self._receive(connection)

    def _send(
        self,
        connection: socket.socket,
        message: dict[str, Any],
        fds: list[int] | None = None,
    ) -> None:
        try:
            socket.send_fds(connection, [json.dumps(message).encode()], fds or [])
        except OSError:
            pass  # the client is gone; its children are killed when its end is read

    def _receive(self, connection: socket.socket) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, MAX_FDS)
        except OSError:
            data, fds = b"", []
        if not data:
            for pid in self.clients.pop(connection).values():
                self._kill(pid)
            connection.close()
            for fd in fds:
                os.close(fd)
            return
        try:
            message = json.loads(data)
            if message["op"] == "spawn":
                self._spawn(connection, message, fds)
            elif message["op"] == "sweep" and self.sweeper is not None:
                self._sweep(connection, message)
            elif message["op"] == "kill":
                victim = self.clients[connection].get(message["id"])
                if victim is not None:
                    self._kill(victim)
        finally:
            for fd in fds:
                os.close(fd)

    def _sweep(self, connection: socket.socket, job: dict[str, Any]) -> None:
        """Fork a sweeper for ``job["uid"]``; its exit is reported like a child's."""
        assert self.sweeper is not None
        pid = os.fork()
        if pid == 0:
            self._forget()
            become_sweeper(int(job["uid"]), list(job["folders"]), self.sweeper)
        self.clients[connection][job["id"]] = pid
        self.owners[pid] = (connection, job["id"])

    def _kill(self, pid: int) -> None:
        """SIGKILL a child not yet reaped (so its pid is still its own) and its group."""
        for kill in (os.kill, os.killpg):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _spawn(
        self, connection: socket.socket, job: dict[str, Any], fds: list[int]
    ) -> None:
        job = {**self.config, **job}
        try:
            pid = self._fork(job, fds)
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            self._send(
                connection, {"op": "failed", "id": job["id"], "error": str(exc)[:300]}
            )
            return
        self.clients[connection][job["id"]] = pid
        self.owners[pid] = (connection, job["id"])
        self._send(connection, {"op": "spawned", "id": job["id"]}, [pidfd])
        os.close(pidfd)

    def _fork(self, job: dict[str, Any], fds: list[int]) -> int:
        """Fork the child. In jail mode it is the first process of a PID namespace of its
        own, made here for this one fork (``unshare(CLONE_NEWPID)`` applies to the next
        child only; the zygote then takes its own namespace back for the one after), and
        it makes its other namespaces itself (``become_child``)."""
        if job["mode"] != "jail":
            pid = os.fork()
            if pid == 0:
                self._become_child(job, fds)
            return pid
        _check(_libc.unshare(CLONE_NEWPID), "unshare")
        pid = 0
        try:
            pid = os.fork()
            if pid == 0:
                self._become_child(job, fds)
        finally:
            if _libc.setns(self.pid_namespace, CLONE_NEWPID) != 0:
                if pid > 0:  # no child of a zygote that cannot make the next one right
                    os.kill(pid, signal.SIGKILL)
                _check(-1, "setns")
        return pid

    def _become_child(self, job: dict[str, Any], fds: list[int]) -> NoReturn:
        """In the forked process: become the child, and end whatever fails on the way, so
        the zygote's own code never goes on in a copy of it."""
        try:
            self._forget()
            become_child(job, fds, self.child)
        finally:
            os._exit(CHILD_FAILED)

    def _forget(self) -> None:
        """In a forked process: drop the zygote's sockets and signal plumbing."""
        signal.set_wakeup_fd(-1)
        for connection in self.clients:
            connection.close()
        self.listener.close()
        os.close(self.lifeline)
        os.close(self.wake_read)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            owner = self.owners.pop(pid, None)
            if owner is not None:
                connection, job_id = owner
                self.clients.get(connection, {}).pop(job_id, None)
                code = os.waitstatus_to_exitcode(status)
                self._send(connection, {"op": "exited", "id": job_id, "status": code})


def restrict_to(uid: int) -> None:
    """uid mode: become ``uid`` with only the capabilities that give each child its own
    uid, so the zygote cannot read what the kit closed to other users."""
    keep = (1 << CAP_KILL) | (1 << CAP_SETGID) | (1 << CAP_SETUID) | (1 << CAP_SETPCAP)
    _drop_bounding_set(keep)
    _prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _set_capabilities(keep)
    _prctl(PR_SET_KEEPCAPS, 0)


def main() -> None:
    config = json.loads(sys.argv[1])
    base_root = config.pop("base_root", None)
    if base_root is not None:
        enter_base_jail(config["layout"], base_root)
    modules = {}
    for name, source in zip(("child", "sweeper"), sys.argv[2:]):
        modules[name] = types.ModuleType(f"mhsa_{name}")
        code = compile(source, f"{name}.py", "exec")
        exec(
            code, modules[name].__dict__
        )  # noqa: S102 - the kit's own child.py, sweeper.py
    _prctl(PR_SET_DUMPABLE, 0)
    listener = socket.socket(fileno=config.pop("listener"))
    lifeline = config.pop("lifeline")
    zygote_uid = config.pop("zygote_uid", None)
    if zygote_uid is not None:
        restrict_to(zygote_uid)
    import numpy  # noqa: F401 - the point of the zygote: imported once, before any fork

    Zygote(listener, lifeline, config, modules).serve()
    # The grader waits for this exit: skip tearing numpy's objects down (it writes no
    # buffered output: it runs with -u).
    os._exit(0)


if __name__ == "__main__":
    main()
