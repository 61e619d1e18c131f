"""Report files stay well-formed whatever names and metadata submissions bring."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autograder.intake.ids import safe_id
from autograder.intake.roster import Person
from autograder.intake.submission import Submission
from autograder.pipeline.grading import failed_row
from autograder.report.gradebook import merge, new_rows, write_gradebook
from autograder.score.rubric import load_rubric


@pytest.mark.parametrize(
    "name",
    ["summary.md", "gradebook.csv", "similarity.csv", "summary-scores.png", "..", "-x"],
)
def test_submission_ids_never_collide_with_batch_files(name: str) -> None:
    cleaned = safe_id(name)
    assert "." not in cleaned
    assert not cleaned.startswith(("-", "_"))
    assert cleaned


def test_gradebook_defuses_spreadsheet_formulas(tmp_path: Path) -> None:
    rubric = load_rubric()
    hostile = Submission(
        "alice",
        "=cmd|' /C calc'!A0.py",
        b"",
        people=(Person('=HYPERLINK("http://x")', "+123", "@evil"),),
    )
    row = failed_row(hostile, rubric, "no_file", "-none")
    book, _ = merge(
        None, new_rows(hostile, row, rubric, "2026-01-01T00:00:00+00:00"), rubric
    )
    path = tmp_path / "gradebook.csv"
    write_gradebook(book, path)
    with path.open() as source:
        written = next(csv.DictReader(source))
    assert written["name"] == '\'=HYPERLINK("http://x")'
    assert written["sid"] == "'+123" and written["email"] == "'@evil"
    assert written["graded_file"].startswith("'=")
    assert written["status_message"] == "'-none"
    assert written["submission"] == "alice"
