"""The record of intake: every file found under SUBMISSIONS and what was done with it.

One entry per file (and per member of an archive that was opened): its path, the submission
it belongs to, and the outcome: ``graded`` (with how: as Python or as a notebook),
``ignored`` (with why), ``opened`` (an archive whose members follow) or ``read`` (Gradescope's
metadata). Nothing under SUBMISSIONS is skipped without an entry; ``report.manifest_csv``
writes them to ``OUT/manifest.csv``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
