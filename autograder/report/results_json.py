"""Gradescope's results.json: the one module that knows its format.

Fields follow Gradescope's autograder specification: a top-level score and output, and
one test per rubric item with score, max_score, status, output and visibility. An item
worth 0 points (formatting advice) is always "passed": Gradescope would show a failed
status as a failed test, and advice is not a failure.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

from autograder.report.feedback import item_output, summary_output
from autograder.score.result import GradeResult

SCHEMA_FILE = Path(__file__).with_name("gradescope_schema.json")


def results_json(result: GradeResult) -> dict[str, Any]:
    """The results.json document for one graded submission."""
    tests = [
        {
            "name": item.title,
            "number": str(index),
            "score": item.score,
            "max_score": item.max_score,
            "status": (
                "passed"
                if item.max_score <= 0
                or (item.passed == item.total and item.score == item.max_score)
                else "failed"
            ),
            "output": item_output(item, result),
            "output_format": "md",
            "visibility": "visible",
            "tags": [item.id],
        }
        for index, item in enumerate(result.items, start=1)
    ]
    return {
        "score": result.score,
        # no execution_time: how long grading took is the submission's to choose (it can
        # sleep for a time read from a hidden input); staff see it in the instructor log.
        "output": summary_output(result),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def validate(document: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless ``document`` fits Gradescope's fields."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:
        raise error


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    """The schema, checked and compiled once per process (a batch validates hundreds)."""
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


def write_results(result: GradeResult, path: Path) -> None:
    """Validate and write results.json."""
    document = results_json(result)
    validate(document)
    path.write_text(json.dumps(document, indent=2) + "\n")
