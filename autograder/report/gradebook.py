"""The gradebook: ``OUT/gradebook.csv``, one row per student, kept across regrades, and the
score files that Canvas's and Gradescope's imports read.

``gradebook.csv`` has one row per student (each member of a group submission gets the
submission's row): ``name``, ``sid``, ``email`` (from Gradescope's metadata, empty when
unknown), ``submission`` (the id, also OUT's folder name), ``graded_file``,
``submitted_at``, ``score``, ``max_score``, ``status``, ``status_message`` (why points could
not be earned at all: a syntax error, a crash, no file), ``graded_at``, then one column
per rubric item. A row whose grading failed on the grader's side (``internal_error``) has
no score: a fault of the grader is never written as a zero.

Grading into an OUT that already holds a gradebook merges: every row of a submission graded
now replaces that submission's old rows (ids compared ignoring case, as a case-insensitive
file system would), every other row is kept as it was. A gradebook written by an older kit
version (one ``student`` column of ``Name <email>``) is converted row by row; rubric item
columns the current rubric lacks are kept, and rows that lack a current item leave it empty.

Two more files are written from the merged gradebook, each in the layout of one import:

- ``canvas-import.csv``: Canvas's gradebook import (Student, ID, SIS User ID, SIS Login ID,
  Section, then one column named after the assignment, with a "Points Possible" row);
  Gradescope's SID goes to "SIS User ID", the column Canvas matches students by.
- ``gradescope-import.csv``: the columns of Gradescope's own score export (Name, SID,
  Email, Total Score, Max Points, Status); Gradescope matches students by email or SID.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autograder.intake.submission import Submission
from autograder.report.feedback import points
from autograder.report.spreadsheet import write_csv
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric

GRADEBOOK_CSV = "gradebook.csv"
CANVAS_CSV = "canvas-import.csv"
GRADESCOPE_CSV = "gradescope-import.csv"
FIXED_COLUMNS = (
    "name",
    "sid",
    "email",
    "submission",
    "graded_file",
    "submitted_at",
    "score",
    "max_score",
    "status",
    "status_message",
    "graded_at",
)
LEGACY_STUDENT = "student"  # the one people column of kit versions before this layout
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
GRADESCOPE_COLUMNS = ("Name", "SID", "Email", "Total Score", "Max Points", "Status")
NO_SCORE = "internal_error"  # a status whose row carries no score
LABELLED = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>]*)>$")

Row = dict[str, str]


class GradebookError(Exception):
    """OUT holds a gradebook.csv this kit cannot merge with; the message says what to do."""


@dataclass(frozen=True)
class Gradebook:
    """Columns in order, and the rows (one per student)."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Merge:
    """How a run changed the gradebook, counted in rows."""

    replaced: int
    added: int
    kept: int
    other_rubric: int  # kept rows graded with another rubric (items or maximum)

    def describe(self) -> str:
        """One line for the terminal."""
        line = (
            f"Gradebook: {self.replaced} row(s) replaced, {self.added} added, "
            f"{self.kept} kept from earlier runs"
        )
        if self.other_rubric:
            line += (
                f"; {self.other_rubric} kept row(s) were graded with another rubric "
                "(regrade everyone with --fresh for comparable scores)"
            )
        return line


def graded_now() -> str:
    """The time stamped on this run's rows: local time with its UTC offset."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_rows(
    submission: Submission, result: GradeResult, rubric: Rubric, graded_at: str
) -> list[Row]:
    """The rows of one graded submission: one per submitter (one when nobody is known)."""
    scored = result.status != NO_SCORE
    items = {item.id: item.score for item in result.items}
    shared: Row = {
        "submission": submission.id,
        "graded_file": submission.file_name,
        "submitted_at": submission.submitted_at,
        "score": points(result.score) if scored else "",
        "max_score": points(result.max_score),
        "status": result.status,
        "status_message": " ".join(result.status_message.split()),
        "graded_at": graded_at,
    }
    for item in rubric.items:
        shared[item.id] = points(items.get(item.id, 0.0)) if scored else ""
    people = submission.people or ()
    if not people:
        return [{"name": "", "sid": "", "email": "", **shared}]
    return [{"name": p.name, "sid": p.sid, "email": p.email, **shared} for p in people]


def read_gradebook(path: Path) -> Gradebook | None:
    """The gradebook at ``path``, None when there is none; legacy rows converted."""
    if not path.exists():
        return None
    try:
        with path.open(newline="", encoding="utf-8-sig") as source:  # Excel adds a BOM
            reader = csv.DictReader(source)
            columns = tuple(reader.fieldnames or ())
            rows = [
                {k: v or "" for k, v in row.items() if isinstance(k, str)}
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GradebookError(
            f"{path} cannot be read ({exc}); move it away or grade with --fresh"
        ) from exc
    if "submission" not in columns:
        raise GradebookError(
            f"{path} is not a gradebook this kit wrote (no submission column); "
            "move it away or grade with --fresh"
        )
    if LEGACY_STUDENT in columns and "name" not in columns:
        rows = [person for row in rows for person in _legacy_people(row)]
        columns = tuple(c for c in columns if c != LEGACY_STUDENT)
    return Gradebook(columns, tuple(rows))


def _legacy_people(row: Row) -> list[Row]:
    """An old row's ``student`` cell (``Name <email>; ...``) as one row per person."""
    people = [p.strip() for p in row.pop(LEGACY_STUDENT, "").split(";") if p.strip()]
    if not people:
        return [{"name": "", "email": "", **row}]
    converted = []
    for person in people:
        found = LABELLED.match(person)
        name, email = (found["name"], found["email"]) if found else (person, "")
        converted.append({"name": name, "email": email, **row})
    return converted


def merge(
    old: Gradebook | None, rows: Sequence[Row], rubric: Rubric
) -> tuple[Gradebook, Merge]:
    """This run's rows over the old gradebook (see the module docstring)."""
    items = tuple(item.id for item in rubric.items)
    columns = FIXED_COLUMNS + items
    if old is not None:
        columns += tuple(c for c in old.columns if c not in columns)
    regraded = {row["submission"].casefold() for row in rows}
    before = {r["submission"].casefold() for r in old.rows} if old else set()
    kept = [
        r
        for r in (old.rows if old else ())
        if r["submission"].casefold() not in regraded
    ]
    other = sum(
        1
        for r in kept
        if r.get("max_score") != points(rubric.max_score)
        or (old is not None and not set(items) <= set(old.columns))
    )
    merged = sorted(
        [*kept, *rows], key=lambda r: (r["submission"].casefold(), r["submission"])
    )
    replaced = sum(1 for r in rows if r["submission"].casefold() in before)
    counts = Merge(replaced, len(rows) - replaced, len(kept), other)
    return Gradebook(columns, tuple(merged)), counts


def write_gradebook(book: Gradebook, path: Path) -> None:
    """Write ``gradebook.csv`` (every text cell defused for spreadsheets)."""
    write_csv(
        path,
        book.columns,
        ([row.get(c, "") for c in book.columns] for row in book.rows),
    )


def write_imports(
    book: Gradebook, out: Path, assignment: str, max_score: float
) -> None:
    """``canvas-import.csv`` and ``gradescope-import.csv`` from the merged gradebook."""
    canvas = [["Points Possible", "", "", "", "", points(max_score)]]
    gradescope = []
    for row in book.rows:
        who = row.get("name") or row.get("email") or row["submission"]
        score = row.get("score", "")
        canvas.append([who, "", row.get("sid", ""), "", "", score])
        gradescope.append(
            [
                who,
                row.get("sid", ""),
                row.get("email", ""),
                score,
                row.get("max_score", ""),
                "Graded" if score else "Ungraded",
            ]
        )
    write_csv(out / CANVAS_CSV, (*CANVAS_COLUMNS, assignment), canvas)
    write_csv(out / GRADESCOPE_CSV, GRADESCOPE_COLUMNS, gradescope)
