"""The grader's entry points give their process one BLAS thread before numpy loads: the
grader's arrays are small, and OpenBLAS's other threads would spin on the cores that mypy,
black and the confined children need."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autograder.config import KIT_ROOT, ONE_BLAS_THREAD

THREADS_AFTER = (
    "import os, sys\n"
    "import {module}\n"
    "import numpy\n"
    "numpy.ones((64, 64)) @ numpy.ones((64, 64))\n"
    "print(len(os.listdir('/proc/self/task')))\n"
)


def threads_after_importing(module: str) -> int:
    """How many threads a fresh interpreter has once ``module`` and numpy are loaded,
    started without any BLAS thread setting of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ONE_BLAS_THREAD}
    probe = subprocess.run(
        [sys.executable, "-c", THREADS_AFTER.format(module=module)],
        cwd=KIT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    return int(probe.stdout)


@pytest.mark.parametrize(
    "entry", ["autograder.__main__", "autograder.deliver.gradescope_run"]
)
def test_a_grader_entry_point_runs_numpy_on_one_thread(entry: str) -> None:
    assert threads_after_importing(entry) == 1
    # Without the entry point numpy starts a BLAS thread per core it may use, so on a
    # machine with several the check above is one that could fail.
    if len(os.sched_getaffinity(0)) > 1:
        assert threads_after_importing("json") > 1
