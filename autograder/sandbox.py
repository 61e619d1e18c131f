"""Start, confine and kill the child process that runs one submission's code.

Layers, strongest available first (``detect_confinement`` picks them once per process):
- PID, network and mount namespaces through util-linux ``unshare`` (as root, or inside a user
  namespace where the kernel allows one): killing the namespace's first process kills every
  process the submission started, ``setsid`` or not, and there is no network.
- As root: the child runs under a throwaway uid (``setpriv``) that owns nothing but its private
  folder, so the solution, fixtures, other submissions, results and ``/proc/<grader>/environ``
  are unreadable once ``protect`` has closed them to others. Without namespaces, a sweep
  ``kill(-1)`` under that uid removes every process it left behind.
- Always: a scrubbed environment, a private working folder holding only the student's file,
  rlimits (CPU, address space, file size, open files, processes), no inherited descriptors
  beyond the two pipes, its own session, and a wall-clock deadline enforced by the caller.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from autograder.config import CHILD_SOURCE, Limits

SANDBOX_UID_BASE = (
    1_000_000  # + the worker's pid: unique per live worker, owned by nobody
)
PRIVATE_FILE_NAME = "mhsa.py"


@dataclass(frozen=True)
class Confinement:
    """Which isolation layers this machine grants the grader."""

    drop_privileges: bool
    namespace_prefix: tuple[str, ...]

    def describe(self) -> str:
        """One line for logs and the README's threat model."""
        parts = []
        if self.namespace_prefix:
            parts.append("PID/network/mount namespaces")
        if self.drop_privileges:
            parts.append("unprivileged uid")
        parts.append("rlimits, scrubbed environment, private folder")
        return ", ".join(parts)


def _works(command: list[str]) -> bool:
    try:
        done = subprocess.run(
            [*command, "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.lru_cache(maxsize=1)
def detect_confinement() -> Confinement:
    """Probe once which layers work here (root or not, namespaces or not)."""
    is_root = os.geteuid() == 0
    drop = is_root and shutil.which("setpriv") is not None
    base = ["unshare", "--pid", "--fork", "--kill-child", "--net", "--mount-proc"]
    prefix: tuple[str, ...] = ()
    if shutil.which("unshare") and os.environ.get("MHSA_NO_NAMESPACES") != "1":
        candidate = base if is_root else [base[0], "--map-root-user", *base[1:]]
        if _works(candidate):
            prefix = tuple(candidate)
    return Confinement(drop_privileges=drop, namespace_prefix=prefix)


def sandbox_uid() -> int:
    """The throwaway uid for children of this worker process."""
    return SANDBOX_UID_BASE + os.getpid()


def protect(paths: list[Path]) -> None:
    """As root, close ``paths`` to other users so a dropped-privilege child cannot read them."""
    if os.geteuid() != 0:
        return
    for path in paths:
        if path.exists():
            mode = path.stat().st_mode
            path.chmod(mode & ~(stat.S_IRWXO | stat.S_IRWXG))


def _count_processes(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


class OutputDrain(threading.Thread):
    """Read the child's stdout/stderr to the end, keeping only the first bytes."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.kept = bytearray()
        self.total = 0

    def run(self) -> None:
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
    """One live child running one student's file, and the means to end it for good."""

    def __init__(self, source: bytes, names: list[str], limits: Limits) -> None:
        self.limits = limits
        self.confinement = detect_confinement()
        self.uid = sandbox_uid() if self.confinement.drop_privileges else None
        self.workdir = Path(tempfile.mkdtemp(prefix="mhsa-child-"))
        private = self.workdir / "work"
        private.mkdir()
        (private / PRIVATE_FILE_NAME).write_bytes(source)
        if self.uid is not None:
            self.workdir.chmod(0o711)
            for path in (private, private / PRIVATE_FILE_NAME):
                os.chown(path, self.uid, self.uid)
            private.chmod(0o700)
        request_read, self.request_fd = os.pipe()
        self.reply_fd, reply_write = os.pipe()
        os.set_blocking(self.request_fd, False)
        command = [
            *self.confinement.namespace_prefix,
            *self._privilege_drop(),
            sys.executable,
            "-I",
            "-B",
            "-u",
            "-c",
            CHILD_SOURCE.read_text(),
            str(private / PRIVATE_FILE_NAME),
            json.dumps(names),
            str(reply_write),
        ]
        nproc = limits.processes
        if os.geteuid() != 0:
            nproc += _count_processes(os.geteuid())
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(private),
            "TMPDIR": str(private),
            "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        self.process = subprocess.Popen(
            command,
            stdin=request_read,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(reply_write,),
            cwd=private,
            env=env,
            start_new_session=True,
            preexec_fn=functools.partial(_apply_rlimits, limits, nproc),
        )
        os.close(request_read)
        os.close(reply_write)
        assert self.process.stdout is not None
        self.drain = OutputDrain(self.process.stdout, limits.output_bytes)
        self.drain.start()

    def _privilege_drop(self) -> list[str]:
        if self.uid is None:
            return []
        uid = str(self.uid)
        return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]

    def kill(self) -> None:
        """Kill the child's whole process tree, reap it, and remove its folder."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        if self.uid is not None and not self.confinement.namespace_prefix:
            _sweep_uid(self.uid)
        self.drain.join(timeout=2)
        for fd in (self.request_fd, self.reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)

    def exit_status(self) -> int | None:
        """The child's exit code (negative: killed by that signal), None while it runs."""
        return self.process.poll()


def _apply_rlimits(limits: Limits, nproc: int) -> None:
    """Runs in the forked child before exec: the kernel enforces these from then on."""
    for which, value in (
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))


def _sweep_uid(uid: int) -> None:
    """Kill every process owned by ``uid`` (it owns nothing but this child's leftovers)."""
    for _ in range(3):
        subprocess.run(
            [sys.executable, "-I", "-c", "import os; os.kill(-1, 9)"],
            user=uid,
            group=uid,
            extra_groups=[],
            check=False,
            env={},
        )
        if _count_processes(uid) == 0:
            return
