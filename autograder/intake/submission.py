"""What intake hands on: one submission's graded file, read into memory, and who submitted
it; every submission found, with the manifest of every file.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.contract.source_text import LineMap
from autograder.intake.manifest import Entry, ignored
from autograder.intake.roster import Person

PYTHON_SUFFIX, NOTEBOOK_SUFFIX = ".py", ".ipynb"


class IntakeError(Exception):
    """SUBMISSIONS cannot be read as given; the message says why, in one line."""


@dataclass(frozen=True)
class Submission:
    """One submission's graded file, read into memory, and who submitted it.

    ``source`` is what runs: the file's bytes, or for a notebook the script built from its
    code cells (``line_map`` then says which cell each line came from, ``notes`` what was
    left out). ``file_name`` is the graded file's path inside the submission.
    """

    id: str
    file_name: str
    source: bytes
    people: tuple[Person, ...] = ()
    problem: str | None = None  # why no file could be graded
    problem_kind: str = "no_file"
    submitted_at: str = ""
    line_map: LineMap | None = None
    notes: tuple[str, ...] = ()

    @property
    def student(self) -> str:
        """``Name <email>`` of each submitter, ``; ``-separated ("" when unknown)."""
        return "; ".join(person.label() for person in self.people)

    @property
    def names(self) -> str:
        """The submitters' names for tables ("" when nobody is known)."""
        known = [p.name or p.email or p.sid for p in self.people]
        return ", ".join(known) if known else ""


@dataclass
class Intake:
    """Every submission found and what happened to every file."""

    submissions: list[Submission]
    manifest: list[Entry]

    @property
    def ignored(self) -> list[Entry]:
        """Files that were neither graded nor used."""
        return ignored(self.manifest)
