"""``OUT/<id>/grade.json``: what a later regrade needs to summarise the whole class.

A regrade of a few submissions keeps the other gradebook rows; for ``summary.md`` and
``similarity.csv`` to cover the whole class too, each graded submission leaves its result
(item scores and case outcomes, no printed output) and the source that was graded. OUT is
closed to other users, as for every other per-submission file. A record this version cannot
read (written by another kit version, or damaged) is skipped and counted, never trusted.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

from autograder.cases.plugin import CaseResult
from autograder.contract.outcomes import Raised
from autograder.intake.roster import Person
from autograder.intake.submission import Submission
from autograder.judge.verdict import Verdict
from autograder.score.result import GradeResult
from autograder.score.scoring import ItemScore

RECORD = "grade.json"
VERSION = 1


def write_record(result: GradeResult, submission: Submission, folder: Path) -> None:
    """Write ``folder/grade.json`` for one graded submission."""
    kept = _fields(result)
    kept["printed"] = ""  # staff read printed.txt; the summary never needs it
    document = {
        "version": VERSION,
        "result": kept,
        "people": list(submission.people),
        "problem": submission.problem,
        "source": base64.b64encode(submission.source).decode("ascii"),
    }
    (folder / RECORD).write_text(json.dumps(document, default=_fields))


def _fields(value: object) -> dict[str, Any]:
    """A dataclass's fields by name, what they hold left to ``json.dumps``: the document
    ``dataclasses.asdict`` gives, without its deep copy of every value (most of a
    batch's time writing records)."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"{type(value).__name__} cannot be written to a record")
    return {
        field.name: getattr(value, field.name) for field in dataclasses.fields(value)
    }


def read_record(folder: Path) -> tuple[GradeResult, Submission] | None:
    """The result and submission recorded in ``folder``, None when there is none to use."""
    try:
        document = json.loads((folder / RECORD).read_text())
        if document.get("version") != VERSION:
            return None
        result = _result(document["result"])
        submission = Submission(
            result.submission,
            result.file_name,
            base64.b64decode(document["source"]),
            tuple(_build(Person, raw) for raw in document["people"]),
            problem=document["problem"],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return result, submission


def _build(kind: type[Any], raw: dict[str, Any], **nested: Any) -> Any:
    """``kind(**raw)`` with fields this version knows (a newer record may hold more)."""
    names = {field.name for field in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in raw.items() if k in names}, **nested)


def _case(raw: dict[str, Any]) -> CaseResult:
    """A case result with its verdict (and what was raised) rebuilt from JSON."""
    verdict = dict(raw["verdict"])
    if verdict.get("raised") is not None:
        verdict["raised"] = _build(Raised, verdict["raised"])
    verdict["matched"] = tuple(tuple(pair) for pair in verdict.get("matched", ()))
    case: CaseResult = _build(
        CaseResult,
        {k: v for k, v in raw.items() if k != "verdict"},
        verdict=_build(Verdict, verdict),
    )
    return case


def _result(raw: dict[str, Any]) -> GradeResult:
    items = [
        _build(
            ItemScore,
            {k: v for k, v in item.items() if k != "results"},
            results=tuple(_case(case) for case in item["results"]),
        )
        for item in raw["items"]
    ]
    result: GradeResult = _build(
        GradeResult, {k: v for k, v in raw.items() if k != "items"}, items=items
    )
    return result
