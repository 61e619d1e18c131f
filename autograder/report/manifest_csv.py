"""``OUT/manifest.csv``: intake's record of every file found under SUBMISSIONS
(``intake.manifest``), one line per file, text cells defused for spreadsheets."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from autograder.intake.manifest import Entry
from autograder.report.spreadsheet import write_csv

MANIFEST_CSV = "manifest.csv"
COLUMNS = ["path", "submission", "outcome", "detail"]


def write_manifest(entries: Iterable[Entry], path: Path) -> None:
    """Write the manifest in intake order (text cells defused for spreadsheets)."""
    write_csv(
        path,
        COLUMNS,
        ([e.path, e.submission, e.outcome, e.detail] for e in entries),
    )
