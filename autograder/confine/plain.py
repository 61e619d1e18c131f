"""plain mode: an ordinary user without user namespaces.

A private folder, the process group, and ``PR_SET_CHILD_SUBREAPER`` so escapees that
``setsid`` are reparented to the grader and killed; the grader makes itself non-dumpable so
the child cannot read its ``/proc/<pid>/environ`` or ptrace it. The child can read what
the grader's user can.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

from autograder.confine.linux import PR_SET_CHILD_SUBREAPER, children_of, kill, prctl
from autograder.confine.mode import Mode

_live_plain_children = [0]


class Plain(Mode):
    """One child in its own process group, with the grader as its subreaper."""

    def starting(self) -> None:
        """Become the subreaper, and note the children the grader already has."""
        _subreaper(+1)
        self._children_before = set(children_of(os.getpid(), zombies=True))

    def not_started(self) -> None:
        """Stop being the subreaper for this child."""
        _subreaper(-1)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """The process group, then every escapee reparented to the grader."""
        super().stop(process)
        self._reap_escapees()
        _subreaper(-1)

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
                kill(pid)
            for pid in escaped:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)


def _subreaper(change: int) -> None:
    """Be the subreaper (orphans of our children become ours) while plain children live."""
    _live_plain_children[0] += change
    prctl(PR_SET_CHILD_SUBREAPER, 1 if _live_plain_children[0] > 0 else 0)
