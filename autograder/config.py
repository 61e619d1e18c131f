"""Paths and limits: every constant the grader relies on lives here once."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
KIT_ROOT = PACKAGE_DIR.parent
FIXTURES_DIR = PACKAGE_DIR / "fixtures"
CASES_DIR = PACKAGE_DIR / "cases"
RUBRIC_FILE = PACKAGE_DIR / "score" / "rubric.json"
MYPY_CONFIG = PACKAGE_DIR / "static" / "student_mypy.ini"
CHILD_SOURCE = PACKAGE_DIR / "confine" / "child.py"
SOLUTION_DIR = KIT_ROOT / "solution"
# One BLAS thread, for the confined children and for the grader's own process: their arrays
# are small, and OpenBLAS's extra threads spin for about 0.1 s of a core after the library
# loads, taken from mypy, black and the children (docs/performance.md).
ONE_BLAS_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def use_one_blas_thread() -> None:
    """Give this process one BLAS thread unless its environment names a number; an entry
    point calls it before anything imports numpy (which reads these once, at import)."""
    for name, value in ONE_BLAS_THREAD.items():
        os.environ.setdefault(name, value)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one confined child, of one submission, and of the static tools."""

    call_seconds: float = 10.0
    # A call also ends once the child has used this much CPU time on it: an endless loop
    # costs this, not call_seconds, while a loaded machine (slower wall clock, same CPU
    # time) never times out honest code. The slowest honest call measured, a pure-Python
    # triple loop on the largest case, takes 11 ms of CPU (docs/performance.md): 1 s is
    # about 100 times that, and an endless loop costs a third of what 3 s did.
    call_cpu_seconds: float = 1.0
    import_seconds: float = 10.0
    submission_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    file_bytes: int = 16 << 20
    open_files: int = 64
    processes: int = 16
    output_bytes: int = 64 << 10
    message_bytes: int = 1 << 20
    # black and mypy read the file outside the grader's process: per file, at most this
    # long (the batch waits no longer for a file that exceeds it), and this much memory.
    black_seconds: float = 5.0
    mypy_seconds: float = 20.0
    static_memory_bytes: int = 1 << 30

    def scaled(self, call_seconds: float) -> Limits:
        """The same limits with another per-call wall time (tests use short ones)."""
        return replace(
            self,
            call_seconds=call_seconds,
            import_seconds=call_seconds,
            submission_seconds=max(call_seconds * 6, 5.0),
        )


def default_limits() -> Limits:
    """Limits, with the per-call wall time overridable by ``MHSA_CALL_SECONDS``."""
    override = os.environ.get("MHSA_CALL_SECONDS")
    return Limits().scaled(float(override)) if override else Limits()
