"""A gradebook instructors can upload: one row per student with name, SID and email, the
graded file, times, status and reason, and the layouts Canvas and Gradescope import."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path

import pytest

from autograder.intake.roster import Person
from autograder.intake.submission import Submission
from autograder.pipeline.batch import grade_folder
from autograder.pipeline.grading import failed_row
from autograder.report.gradebook import (
    CANVAS_COLUMNS,
    FIXED_COLUMNS,
    GRADESCOPE_COLUMNS,
    new_rows,
)
from autograder.score.rubric import load_rubric
from tests.conftest import INTAKE, TEST_LIMITS

RUBRIC = load_rubric()
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as source:
        return list(csv.DictReader(source))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sample Gradescope export graded once; OUT and what the terminal showed."""
    out = tmp_path_factory.mktemp("export-out")
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        grade_folder(INTAKE / "export", out, jobs=2, limits=TEST_LIMITS, quiet=False)
    return out, shown.getvalue()


def test_one_row_per_student_with_who_what_when_and_why(
    export: tuple[Path, str],
) -> None:
    out, _ = export
    rows = read(out / "gradebook.csv")
    assert list(rows[0]) == [*FIXED_COLUMNS, *(item.id for item in RUBRIC.items)]
    people = {row["name"]: row for row in rows}
    assert len(rows) == 5  # four submissions, one of them by two students
    ada = people["Ada Lovelace"]
    assert (ada["sid"], ada["email"], ada["submission"]) == (
        "100001",
        "ada@example.edu",
        "submission_5001",
    )
    assert ada["graded_file"] == "mhsa.py" and ada["score"] == "10"
    assert ada["submitted_at"] == "2026-03-02T23:41:07-08:00"
    assert ISO_TIME.match(ada["graded_at"]), ada["graded_at"]
    for member in ("Alan Turing", "Grace Hopper"):  # a group: each member gets the row
        assert people[member]["submission"] == "submission_5002"
        assert people[member]["score"] == "10"
    assert people["Grace Hopper"]["sid"] == "100003"
    edsger = people["Edsger Dijkstra"]
    assert (edsger["score"], edsger["status"]) == ("0", "no_file")
    assert edsger["status_message"] == "no .py or .ipynb file was submitted"
    mallory = next(row for row in rows if row["sid"] == "100004")
    assert mallory["name"].startswith("'=HYPERLINK")  # defused for spreadsheets
    assert mallory["graded_file"] == "hw3.zip/Homework 3/mhsa.ipynb"


def test_canvas_import_has_its_columns_and_points_possible(
    export: tuple[Path, str],
) -> None:
    out, _ = export
    with (out / "canvas-import.csv").open(newline="") as source:
        table = list(csv.reader(source))
    assert table[0] == [*CANVAS_COLUMNS, RUBRIC.title]
    assert table[1] == ["Points Possible", "", "", "", "", "10"]
    by_sid = {row[2]: row for row in table[2:]}
    assert by_sid["100001"] == ["Ada Lovelace", "", "100001", "", "", "10"]
    assert by_sid["100005"][5] == "0"
    assert len(by_sid) == 5


def test_gradescope_import_has_its_columns(export: tuple[Path, str]) -> None:
    out, _ = export
    rows = read(out / "gradescope-import.csv")
    assert list(rows[0]) == list(GRADESCOPE_COLUMNS)
    grace = next(row for row in rows if row["Email"] == "grace@example.edu")
    assert grace == {
        "Name": "Grace Hopper",
        "SID": "100003",
        "Email": "grace@example.edu",
        "Total Score": "10",
        "Max Points": "10",
        "Status": "Graded",
    }


def test_the_terminal_summary_and_similarity_name_students(
    export: tuple[Path, str],
) -> None:
    out, shown = export
    assert re.search(
        r"^submission_5002\s+Alan Turing, Grace Hopper\s+10/10\s+ok$", shown, re.M
    )
    assert "Found 4 submission(s); 6 file(s) ignored" in shown
    summary = (out / "summary.md").read_text()
    assert "Edsger Dijkstra (submission_5004)" in summary  # in the trouble table
    assert "## Files not graded" in summary and "notes.txt" in summary
    pairs = read(out / "similarity.csv")
    named = {row["students_a"] for row in pairs} | {row["students_b"] for row in pairs}
    assert "Ada Lovelace" in named and "Alan Turing, Grace Hopper" in named


def test_a_grader_fault_is_never_written_as_a_zero() -> None:
    submission = Submission("amy", "mhsa.py", b"", (Person("Amy", "7", "a@x"),))
    broken = failed_row(submission, RUBRIC, "internal_error", "grader error: boom")
    (row,) = new_rows(submission, broken, RUBRIC, "2026-01-01T00:00:00+00:00")
    assert row["score"] == "" and row["status"] == "internal_error"
    assert all(row[item.id] == "" for item in RUBRIC.items)
