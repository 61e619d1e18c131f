"""jail mode: namespaces and a private root filesystem (root, or a user with user namespaces).

util-linux ``unshare`` gives the child new PID, network, mount, IPC and UTS namespaces.
Inside, a shell script mounts a size-capped tmpfs as the child's whole root filesystem,
binds into it read-only only what Python needs (``/usr``, the interpreter's and the venv's
prefixes, a few device nodes, a fresh ``/proc``), then ``chroot`` and ``setpriv`` start
Python with no capabilities, ``no_new_privs`` and, as root, a throwaway uid. The solution,
fixtures, other submissions, results and every other process are simply absent; there is
no network; files the child writes vanish with its tmpfs. Killing the namespace's first
process kills every process the submission started, ``setsid`` or not.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.config import FIXTURES_DIR, SOLUTION_DIR, Limits
from autograder.confine.linux import SYSTEM_PATH, children_of, kill, tool, wait_gone
from autograder.confine.mode import PRIVATE_FILE_NAME, SCRUBBED_ENV, Mode, Placement
from autograder.confine.protect import interpreter_paths

JAIL_WORKDIR = "/workdir"  # the child's private folder inside its jail
JAIL_DEVICES = ("null", "zero", "full", "random", "urandom")
JAIL_SETUP_FAILED = 97  # exit code of the jail script when a mount fails
# The system tools the jail needs; the probe tries the jail only where all exist.
JAIL_TOOLS = ("unshare", "setpriv", "mount", "chroot", "sh")


class Jail(Mode):
    """One child in its own namespaces, on a tmpfs root built by ``jail_script``."""

    stderr = subprocess.DEVNULL  # the script joins the child's stderr to its stdout

    def place(self, workdir: Path, source: bytes) -> Placement:
        """The file beside an empty root; the script copies it into the jail."""
        self.root = workdir / "root"
        self.root.mkdir()
        self.host_file = workdir / PRIVATE_FILE_NAME
        self.host_file.write_bytes(source)
        return Placement(
            f"{JAIL_WORKDIR}/{PRIVATE_FILE_NAME}", str(workdir), JAIL_WORKDIR, "/tmp"
        )

    def command(self, python: list[str], limits: Limits) -> list[str]:
        """The jail script, which builds the root and then runs ``python`` in it."""
        script = jail_script(
            str(self.root), str(self.host_file), python_binds(), self.uid, limits
        )
        return [tool("sh") or "sh", "-c", script, "mhsa-jail", *python]

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """Kill the namespace's init (it cannot refuse a kill from outside): every process
        in the namespace dies with it, setsid or not; unshare then reaps it."""
        inits: list[int] = []
        if process.poll() is None:
            inits = _namespace_init(process)
            for pid in inits:
                kill(pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        super().stop(process)
        for pid in inits:
            wait_gone(pid, 10.0)


def _namespace_init(process: subprocess.Popen[bytes]) -> list[int]:
    """The first process in the child's namespaces (unshare's only child)."""
    deadline = time.monotonic() + 2.0
    while process.poll() is None and time.monotonic() < deadline:
        found = children_of(process.pid)
        if found:
            return found
        time.sleep(0.002)  # unshare has not forked yet
    return []


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


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


@dataclass(frozen=True)
class JailLayout:
    """What a jail's root holds, as data: the shell script (``jail_script``) and the zygote
    (``zygote.build_tree``, with system calls, for its base jail and each child) build the
    same root from it.

    Paths inside are relative to the root; every one comes from the grader, never from a
    submission.
    """

    tmpfs: str  # mount options of the root's tmpfs (size, inodes, mode)
    folders: tuple[str, ...]  # made empty
    links: tuple[tuple[str, str], ...]  # (target, name): /bin -> usr/bin and the like
    binds: tuple[
        tuple[str, str], ...
    ]  # (host folder, inside): read-only, nosuid, nodev
    nodes: tuple[str, ...]  # device nodes and /etc/ld.so.cache, bound from the host
    workdir: str = JAIL_WORKDIR.strip("/")
    # Set before anything is made: the grader's own umask (077 on many shared servers)
    # would close every folder of the root to the child's unprivileged uid.
    umask: int = 0o022

    def as_json(self) -> dict[str, object]:
        """The layout as the zygote reads it."""
        return asdict(self)


def jail_layout(limits: Limits, python_binds: tuple[str, ...]) -> JailLayout:
    """The root a jail gets: ``/usr``, the ``/bin``-style links or folders, the
    interpreter's prefixes, five device nodes, and empty ``/proc``, ``/tmp`` and workdir.
    """
    tmpfs = f"size={max(4 * limits.file_bytes, 16 << 20)},nr_inodes=4096,mode=755"
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
    nodes = [f"dev/{device}" for device in JAIL_DEVICES]
    if os.path.isfile("/etc/ld.so.cache"):
        nodes.append("etc/ld.so.cache")
    return JailLayout(tmpfs, tuple(folders), tuple(links), tuple(binds), tuple(nodes))


def jail_script(
    root: str,
    source: str,
    python_binds: tuple[str, ...],
    uid: int | None,
    limits: Limits,
) -> str:
    """The shell script that builds the child's root filesystem, then starts ``$@`` in it
    with no privileges (the start-up path; a zygote builds the same root by system calls).

    It runs as (namespace) root inside the new namespaces; every path in it comes from the
    grader, never from the submission.
    """
    q = shlex.quote
    layout = jail_layout(limits, python_binds)
    jail_at = '"$R"'  # every path below is under the jail; no cd (it would set PWD)
    lines = [
        f"umask {layout.umask:03o}",
        f"R={q(root.rstrip('/'))}",
        f"mount -t tmpfs -o {layout.tmpfs},nosuid,nodev mhsa-jail {jail_at}",
        "mkdir -p " + " ".join(f"{jail_at}/{q(f)}" for f in layout.folders),
    ]
    lines += [f"ln -s {q(target)} {jail_at}/{name}" for target, name in layout.links]
    lines += [
        f"mount --bind -o ro,nosuid,nodev {q(host)} {jail_at}/{q(inside)}"
        for host, inside in layout.binds
    ]
    lines.append("touch " + " ".join(f"{jail_at}/{node}" for node in layout.nodes))
    lines += [
        f"mount --bind {'-o ro ' if node.startswith('etc') else ''}/{node} {jail_at}/{node}"
        for node in layout.nodes
    ]
    work = f"{jail_at}{JAIL_WORKDIR}"
    lines += [
        f"ln -s /proc/self/fd {jail_at}/dev/fd",
        f"chmod 1777 {jail_at}/tmp {jail_at}/dev/shm",
        f"mount -t proc -o nosuid,nodev,noexec proc {jail_at}/proc",
    ]
    lines.append(f"cp {q(source)} {work}/{PRIVATE_FILE_NAME}")
    if uid is not None:
        lines.append(f"chown -R {uid}:{uid} {work}")
    lines.append(f"chmod 700 {work}")
    privileges = ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    if uid is not None:
        privileges = [f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *privileges]
    setup = " &&\n".join(lines)  # the first failure stops the setup
    chroot, setpriv = tool("chroot") or "chroot", tool("setpriv") or "setpriv"
    start = f"{q(setpriv)} {' '.join(privileges)} -- "
    return (
        "exec 2>&1\n"  # the child's stderr joins its stdout; unshare's own stays silent
        f"PATH={SYSTEM_PATH}\n"
        f"{{\n{setup}\n}} </dev/null >/dev/null 2>&1 || exit {JAIL_SETUP_FAILED}\n"
        f"PATH={SCRUBBED_ENV['PATH']}\n"
        "unset PWD OLDPWD\n"
        f'exec {q(chroot)} "$R" {start}"$@"\n'
    )


def unshare_prefix(user_namespace: bool) -> tuple[str, ...]:
    command = [tool("unshare") or "unshare"]
    if user_namespace:
        command += ["--user", "--map-root-user"]
    command += ["--pid", "--fork", "--kill-child", "--net", "--mount", "--ipc", "--uts"]
    return tuple(command)
