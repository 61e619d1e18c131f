"""Hints for the student self-check: what known mistakes give on the public cases.

The grader names a mistake by replaying known-wrong variants (``diagnose``); the self-check
runs on a student's machine with neither the grader nor the reference, so the handout
carries the variants' outputs on the *public* cases instead. A public case's right answer
is already in the handout, and these are only wrong answers, so nothing new is revealed;
hidden cases are never included.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from autograder.casebook import Case, load_cases
from autograder.channel import FloatArray
from autograder.diagnose import variant_outputs

SIGNIFICANT_DIGITS = 8  # the self-check matches with rtol=1e-4: 8 digits lose nothing


def _encode(array: FloatArray) -> dict[str, Any]:
    data = [
        float(f"{value:.{SIGNIFICANT_DIGITS}g}") if np.isfinite(value) else None
        for value in array.astype(np.float64).ravel().tolist()
    ]
    return {"shape": list(array.shape), "data": data}


def _is_right(replay: list[FloatArray], case: Case) -> bool:
    return len(replay) == len(case.expected) and all(
        got.shape == want.shape
        and np.allclose(got, want, rtol=1e-5, atol=1e-8, equal_nan=True)
        for got, want in zip(replay, case.expected)
    )


def case_hints(case: Case) -> list[dict[str, Any]]:
    """One entry per misconception whose output on ``case`` differs from the right one."""
    hints: list[dict[str, Any]] = []
    for variant, replay in variant_outputs(case):
        if _is_right(replay, case):
            continue
        hints.append(
            {
                "explanation": variant.explanation,
                "arrays": [_encode(array) for array in replay],
            }
        )
    return hints


def public_hints() -> dict[str, Any]:
    """The hints file of the handout: public value cases only (never hidden, never shapes)."""
    cases = [
        case
        for case in load_cases()
        if case.visibility == "public"
        and case.raises is None
        and case.check in ("values", "stability")
    ]
    return {"format": 1, "cases": {case.id: case_hints(case) for case in cases}}


def hints_json() -> bytes:
    """``public_hints`` as deterministic JSON bytes (non-finite values are null)."""
    return (
        json.dumps(public_hints(), sort_keys=True, separators=(",", ":")) + "\n"
    ).encode()
