"""Report files stay well-formed whatever names and metadata submissions bring."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autograder.batch import failed_row
from autograder.discover import Submission, safe_id
from autograder.report import write_gradebook
from autograder.rubric import load_rubric


@pytest.mark.parametrize(
    "name",
    ["summary.md", "gradebook.csv", "similarity.csv", "summary-scores.png", "..", "-x"],
)
def test_submission_ids_never_collide_with_batch_files(name: str) -> None:
    cleaned = safe_id(name)
    assert "." not in cleaned
    assert not cleaned.startswith("-")
    assert cleaned


def test_gradebook_defuses_spreadsheet_formulas(tmp_path: Path) -> None:
    rubric = load_rubric()
    hostile = Submission("alice", "mhsa.py", b"", student='=HYPERLINK("http://x")')
    path = tmp_path / "gradebook.csv"
    write_gradebook([failed_row(hostile, rubric, "no_file", "none")], rubric, path)
    with path.open() as source:
        row = next(csv.DictReader(source))
    assert row["student"] == '\'=HYPERLINK("http://x")'
    assert row["submission"] == "alice"
