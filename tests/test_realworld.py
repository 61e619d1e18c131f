"""The kit grades code written the way people write attention as PyTorch says it should.

tests/realworld/submissions/ holds NumPy attention submissions in the styles of public code
(tests/realworld/SOURCES.md names the style and the repository each imitates): half correct,
half with realistic mistakes. tests/realworld/EXPECTED.json holds the points each deserves
per rubric item, judged against PyTorch by tests/realworld/judge_with_torch.py, which uses
none of the kit's grading code; PyTorch is not needed here. The corpus is graded once, in one
batch with two workers.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from autograder.config import KIT_ROOT
from autograder.pipeline.batch import grade_folder
from autograder.score.result import GradeResult
from tests.conftest import TEST_LIMITS

REALWORLD = KIT_ROOT / "tests" / "realworld"
CORPUS = REALWORLD / "submissions"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (REALWORLD / "EXPECTED.json").read_text()
)["files"]
MISTAKEN = sorted(name for name, entry in EXPECTED.items() if entry["mistaken"])
CAUSE = re.compile(
    r"likely cause", re.IGNORECASE
)  # how feedback introduces a diagnosis
POINTS_TOLERANCE = 0.01 + 1e-9


@pytest.fixture(scope="module")
def graded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, GradeResult], Path]:
    """The corpus graded by the kit: results by file name, and the OUT folder."""
    folder = tmp_path_factory.mktemp("realworld")
    for source in CORPUS.glob("*.py"):
        shutil.copy(source, folder / source.name)
    out = tmp_path_factory.mktemp("realworld-out")
    results = grade_folder(folder, out, jobs=2, limits=TEST_LIMITS, quiet=True)
    return {f"{r.submission}.py": r for r in results}, out


def test_corpus_is_judged_whole() -> None:
    names = {path.name for path in CORPUS.glob("*.py")}
    assert names == set(EXPECTED)
    assert len(names) >= 24 and len(MISTAKEN) >= 12
    assert any(entry["total"] == 10 for entry in EXPECTED.values())


def test_kit_scores_every_item_as_the_torch_judgment(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    results, _ = graded
    assert set(results) == set(EXPECTED)
    disagreements = []
    for name, expected in sorted(EXPECTED.items()):
        result = results[name]
        kit = {item.id: item.score for item in result.items}
        wrong = [
            f"{item} kit {kit[item]:g}, expected {points:g}"
            for item, points in expected["items"].items()
            if abs(kit[item] - points) > POINTS_TOLERANCE
        ]
        if wrong:
            status = "" if result.status == "ok" else f" [{result.status}]"
            disagreements.append(
                f"{name} (kit {result.score:g}, expected {expected['total']:g}){status}: "
                + "; ".join(wrong)
            )
    assert not disagreements, (
        f"{len(disagreements)} of {len(EXPECTED)} files graded unlike the PyTorch "
        "judgment:\n" + "\n".join(disagreements)
    )


def test_every_mistake_is_given_a_cause(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    _, out = graded
    silent = [
        name
        for name in MISTAKEN
        if not CAUSE.search((out / Path(name).stem / "feedback.md").read_text())
    ]
    assert not silent, (
        f"{len(silent)} of {len(MISTAKEN)} mistaken files get feedback naming no cause: "
        + ", ".join(silent)
    )
