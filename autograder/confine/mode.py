"""What every confinement mode is: which one the probe chose (``Confinement``), and the
interface each mode implements for one child (``Mode``).

``ConfinedProcess`` starts every child the same way: it makes a private working folder,
asks the mode where the student's file goes (``place``), wraps the Python command that
runs ``child.py`` in the mode's own (``command``), and on kill asks the mode to end the
child's whole process tree (``stop``). The modes are ``jail``, ``uid`` and ``plain``, one
module each; ``probe.detect_confinement`` chooses the strongest that works here. A new mode
is a module with a ``Mode`` subclass, an entry in ``process.MODES`` and a place in the
probe's order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from autograder.config import ONE_BLAS_THREAD, Limits

PRIVATE_FILE_NAME = "mhsa.py"
SCRUBBED_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    **ONE_BLAS_THREAD,
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


@dataclass(frozen=True)
class Placement:
    """Where one child finds the student's file, and its working, home and temp folders
    (paths as the child sees them)."""

    student_file: str
    cwd: str
    home: str
    tmp: str


class Mode:
    """How one child is confined; one instance per child, driven by ``ConfinedProcess``.

    The defaults are what the uid and plain modes share: the student's file in a private
    folder owned by the child's uid, the child's stderr joined to its stdout, and its
    process group killed at the end.
    """

    # Where the child's stderr goes (a subprocess constant): joined to its stdout.
    stderr: int = subprocess.STDOUT

    def __init__(self, confinement: Confinement, uid: int | None) -> None:
        self.confinement, self.uid = confinement, uid

    def starting(self) -> None:
        """Before anything of the child exists."""

    def not_started(self) -> None:
        """The child could not be started: undo ``starting``."""

    def place(self, workdir: Path, source: bytes) -> Placement:
        """Put the student's file where the child will find it, under ``workdir``."""
        private = private_folder(workdir, source, self.uid)
        folder = str(private)
        return Placement(str(private / PRIVATE_FILE_NAME), folder, folder, folder)

    def command(self, python: list[str], limits: Limits) -> list[str]:
        """The command that runs ``python`` confined (after the confinement's namespace
        prefix)."""
        return python

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """Kill the child's whole process tree and wait for it: when this returns, no
        process the submission started is running any more."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def private_folder(workdir: Path, source: bytes, uid: int | None) -> Path:
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
