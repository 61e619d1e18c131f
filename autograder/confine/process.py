"""Start one confined child that runs one student's file, and end it for good.

The mode the probe chose (``mode.Confinement``, ``probe.detect_confinement``) decides
where the file goes, what wraps the command and how the tree is killed (``jail``, ``uid``,
``plain``). Always, whatever the mode: a scrubbed environment, rlimits (CPU, address space,
file size, open files, processes, no core dumps), no inherited descriptors beyond the
request and reply pipes and the drained output pipe, its own session, and a wall-clock
deadline enforced by the caller. See ``docs/threat-model.md``.

What runs inside is the start-up path: ``python -I -B -u -c child.py`` with the student's
file, the names to look up and the reply pipe (``child_command``); the probe runs a line of
its own instead.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

from autograder.config import CHILD_SOURCE, Limits
from autograder.confine.jail import Jail
from autograder.confine.linux import PR_SET_PDEATHSIG, prctl, processes_of
from autograder.confine.mode import SCRUBBED_ENV, Confinement, Mode
from autograder.confine.plain import Plain
from autograder.confine.protect import make_undumpable
from autograder.confine.uid import UidDrop, new_sandbox_uid
from autograder.confine.untrusted import safe_text

MODES: dict[str, type[Mode]] = {"jail": Jail, "uid": UidDrop, "plain": Plain}
PYTHON_FLAGS = (
    "-I",
    "-B",
    "-u",
    "-c",
)  # isolated, no bytecode, unbuffered, code follows


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
    ``confinement`` is the probe's choice (``probe.detect_confinement``); ``python_code``
    replaces the start-up path (the probe's own line); ``uid`` is the submission's
    throwaway uid when the mode drops privileges (a fresh one when not given).
    """

    def __init__(
        self,
        source: bytes,
        names: list[str],
        limits: Limits,
        confinement: Confinement,
        python_code: str | None = None,
        uid: int | None = None,
    ) -> None:
        self.limits = limits
        self.confinement = confinement
        make_undumpable()
        self.uid = None
        if self.confinement.drop_privileges:
            self.uid = uid if uid is not None else new_sandbox_uid()
        self.mode = MODES[self.confinement.mode](self.confinement, self.uid)
        self.mode.starting()
        self.workdir = Path(tempfile.mkdtemp(prefix="mhsa-child-"))  # 0700, root's
        self._closed = False
        placement = self.mode.place(self.workdir, source)
        request_read, self.request_fd = os.pipe()
        self.reply_fd, reply_write = os.pipe()
        os.set_blocking(self.request_fd, False)
        python = (
            child_command(placement.student_file, names, reply_write)
            if python_code is None
            else [sys.executable, *PYTHON_FLAGS, python_code]
        )
        command = [
            *self.confinement.namespace_prefix,
            *self.mode.command(python, limits),
        ]
        nproc = limits.processes
        if self.uid is None:  # RLIMIT_NPROC counts every process of the grader's uid
            nproc += len(processes_of(os.getuid()))
        env = {**SCRUBBED_ENV, "HOME": placement.home, "TMPDIR": placement.tmp}
        try:
            self.process = subprocess.Popen(
                command,
                stdin=request_read,
                stdout=subprocess.PIPE,
                stderr=self.mode.stderr,
                pass_fds=(reply_write,),
                cwd=placement.cwd,
                env=env,
                start_new_session=True,
                preexec_fn=functools.partial(_apply_rlimits, limits, nproc),
            )
        except BaseException:
            for fd in (request_read, reply_write, self.request_fd, self.reply_fd):
                os.close(fd)
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.mode.not_started()
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
        self.mode.stop(self.process)
        self.drain.join(timeout=2)
        for fd in (self.request_fd, self.reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.process.stdout is not None:
            with contextlib.suppress(OSError):
                self.process.stdout.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def exit_status(self) -> int | None:
        """The child's exit code (negative: killed by that signal), None while it runs."""
        return self.process.poll()


def child_command(student_file: str, names: list[str], reply_fd: int) -> list[str]:
    """The start-up path: Python runs ``child.py``, which imports ``student_file`` and
    answers on ``reply_fd`` for the functions in ``names``."""
    return [
        sys.executable,
        *PYTHON_FLAGS,
        CHILD_SOURCE.read_text(),
        student_file,
        json.dumps(names),
        str(reply_fd),
    ]


def _apply_rlimits(limits: Limits, nproc: int) -> None:
    """Runs in the forked child before exec: the kernel enforces these from then on.

    Also asks for SIGKILL should the grader die first, so a child never outlives it.
    """
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
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
