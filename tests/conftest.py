"""Shared fixtures for the kit's own tests: one graded batch reused by many assertions."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.config import KIT_ROOT, Limits
from autograder.confine.reachability import uid_mode_obstacle
from autograder.pipeline.batch import grade_folder
from autograder.score.result import GradeResult

EXAMPLES = KIT_ROOT / "examples" / "submissions"
CRAFTED = KIT_ROOT / "tests" / "submissions"
REFERENCE = KIT_ROOT / "solution" / "mhsa.py"
TEST_LIMITS = Limits().scaled(2.0)
INTAKE = KIT_ROOT / "tests" / "intake"

# uid mode (root without namespaces, as on Gradescope) needs an interpreter and a temp folder
# that other users can reach; where they cannot (pyenv under a 0700 /root), its tests skip
# and say why in the summary (pytest runs with -rs), and the grader refuses the mode.
UID_MODE_OBSTACLE = uid_mode_obstacle() if os.geteuid() == 0 else None
KIT_ENV = {**os.environ, "MHSA_CALL_SECONDS": str(TEST_LIMITS.call_seconds)}


def run_kit(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m autograder ...`` from the checkout, as an instructor runs it."""
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=KIT_ROOT,
        env=KIT_ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def mode_in_new_process(
    env: dict[str, str], umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    """A new Python in the kit prints the sandbox mode it detects (stdout) and any warning
    (stderr), under ``env`` and ``umask``; it starts its own zygote, not this process's.
    """
    probe = (
        "from autograder.confine.probe import detect_confinement\n"
        "print(detect_confinement().mode)\n"
    )
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MHSA_ZYGOTE")}
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**inherited, **env},
        preexec_fn=None if umask is None else lambda: os.umask(umask),
    )


needs_uid_mode = pytest.mark.skipif(
    UID_MODE_OBSTACLE is not None,
    reason=f"other users cannot run this interpreter here: {UID_MODE_OBSTACLE}",
)


@dataclass
class GradedBatch:
    """A batch graded once per session: results by id and the OUT folder."""

    results: dict[str, GradeResult]
    out: Path

    def results_json(self, submission: str) -> dict[str, object]:
        """The parsed results.json of one submission."""
        data: dict[str, object] = json.loads(
            (self.out / submission / "results.json").read_text()
        )
        return data

    def gradebook(self) -> list[dict[str, str]]:
        """The gradebook rows."""
        with (self.out / "gradebook.csv").open() as source:
            return list(csv.DictReader(source))


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> GradedBatch:
    """The examples, the crafted submissions and the reference, graded in one batch."""
    folder = tmp_path_factory.mktemp("submissions")
    for source in [*EXAMPLES.glob("*.py"), *CRAFTED.glob("*.py")]:
        shutil.copy(source, folder / source.name)
    shutil.copy(REFERENCE, folder / "reference.py")
    out = tmp_path_factory.mktemp("out")
    results = grade_folder(folder, out, jobs=2, limits=TEST_LIMITS, quiet=True)
    return GradedBatch({r.submission: r for r in results}, out)
