"""A submission's graded result: everything reports need about it."""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.score.scoring import ItemScore


@dataclass
class GradeResult:
    """Everything reports need about one graded submission."""

    submission: str
    student: str
    file_name: str
    score: float
    max_score: float
    status: (
        str  # "ok", or why the code could not run: syntax, import_error, timeout, ...
    )
    status_message: str
    items: list[ItemScore]
    found_names: dict[str, str] = field(default_factory=dict)
    black_note: str = ""
    printed: str = ""
    seconds: float = 0.0
    internal_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the file was read (a notebook)
