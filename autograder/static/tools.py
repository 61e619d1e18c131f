"""black and mypy run in their own processes, whose running time and memory a crafted
file can blow up: each under a memory cap, with no core file, dying with the grader.
"""

from __future__ import annotations

import contextlib
import resource
import signal

TOOL_START_SECONDS = (
    60.0  # for a tool to start (imports, a cold cache), before any file
)


def tool_limits(memory_bytes: int) -> None:
    """In a forked tool process before exec: a memory cap, no core file, death with us."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
