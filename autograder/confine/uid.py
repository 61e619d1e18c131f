"""uid mode: a throwaway uid per submission (root where namespaces are refused, e.g. a Docker
container without ``CAP_SYS_ADMIN``, or Gradescope).

``setpriv`` runs the child under a uid, fresh for each submission, that can read only what
is world-readable (``protect`` closes the whole kit but the interpreter, the submissions
and OUT to others). Its private folder and file belong to that uid, with their final
modes, before any other user can reach them. On kill, ``sweeper.py`` runs as that uid
(never as root, so no removal can be steered by a symlink): ``kill(-1)`` ends every process
it left behind, and its files in world-writable folders and its SysV IPC objects are
removed; ``RLIMIT_MSGQUEUE = 0`` stops POSIX queues. The jail, as root, runs its child
under such a uid too.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
from pathlib import Path

from autograder.config import Limits
from autograder.confine.linux import processes_of, tool
from autograder.confine.mode import Mode

# Sandbox uids: SANDBOX_UID_BASE + (grader pid << UID_BITS) + a counter, so every submission
# of every grader process on the machine gets its own uid, owned by nobody.
SANDBOX_UID_BASE = 1 << 31
UID_BITS = 8  # submissions one grader process grades before its uids come round again
PID_LIMIT = 1 << 22  # Linux's largest pid_max: the uids stay below 2**31 + 2**30
SWEEPER_SOURCE = Path(__file__).with_name("sweeper.py")
SWEPT_FOLDERS = (
    "/tmp",
    "/var/tmp",
    "/dev/shm",
    "/run/lock",
    "/var/lock",
    "/dev/mqueue",
)
SWEEP_SECONDS = 30.0


class UidDrop(Mode):
    """One child under its submission's throwaway uid, swept when it ends."""

    def command(self, python: list[str], limits: Limits) -> list[str]:
        """``setpriv`` drops to the uid, with no capabilities and no new privileges."""
        if self.uid is None:
            return python
        return [
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

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """The process group, then everything else the uid left behind."""
        super().stop(process)
        if self.uid is not None:
            sweep_uid(self.uid)


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
