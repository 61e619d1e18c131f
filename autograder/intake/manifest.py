"""``OUT/manifest.csv``: every file found under SUBMISSIONS and what was done with it.

One line per file (and per member of an archive that was opened): its path, the submission
it belongs to, and the outcome: ``graded`` (with how: as Python or as a notebook),
``ignored`` (with why), ``opened`` (an archive whose members follow) or ``read`` (Gradescope's
metadata). Nothing under SUBMISSIONS is skipped without a line here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autograder.report.spreadsheet import write_csv

MANIFEST_CSV = "manifest.csv"
COLUMNS = ["path", "submission", "outcome", "detail"]


@dataclass(frozen=True)
class Entry:
    """One file of the intake and its outcome."""

    path: str  # relative to SUBMISSIONS (an archive member: ``hw.zip/mhsa.py``)
    submission: str  # the submission id it belongs to, "" for none
    outcome: str  # "graded", "ignored", "opened" or "read"
    detail: str


def ignored(entries: Iterable[Entry]) -> list[Entry]:
    """The entries that were not graded, opened or read."""
    return [entry for entry in entries if entry.outcome == "ignored"]


def write_manifest(entries: Iterable[Entry], path: Path) -> None:
    """Write the manifest in intake order (text cells defused for spreadsheets)."""
    write_csv(
        path,
        COLUMNS,
        ([e.path, e.submission, e.outcome, e.detail] for e in entries),
    )
