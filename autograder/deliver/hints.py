"""The references of the public cases, as data for the handout's self-check and the Otter
export (``fixtures/hints.json``).

The grader names a mistake by replaying its catalogue (``diagnose.reference``); the
deliveries run the same judge with neither the catalogue nor the reference solution, so they
carry what the replays give on the *public* cases instead: each known mistake's output, the
case's float32 rounding scale, and for multi-head cases the right intermediate results
(create_qkv's Q, K, V on the inputs, the per-head arrays, attention on them), against which
the student's own helpers are compared. A public case's right answer is already in the
handout and these are only its steps and wrong answers; hidden cases are never included.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.cases.casebook import load_cases
from autograder.diagnose.references import reference
from autograder.judge.case import Case
from autograder.judge.references import ShippedReference, reference_to_json


def shipped(case: Case) -> ShippedReference:
    """A public case's reference as shipped: single mistakes only (pairs would be
    hundreds of arrays per case; the grader alone tries them)."""
    replayed = reference(case)
    return ShippedReference(
        replayed.magnitude, tuple(replayed.singles()), replayed.steps()
    )


def public_hints() -> dict[str, Any]:
    """The hints file: one reference per public case that expects arrays."""
    cases = [c for c in load_cases() if c.public and c.raises is None]
    return {
        "format": 2,
        "cases": {c.id: reference_to_json(shipped(c), c) for c in cases},
    }


def hints_json() -> bytes:
    """``public_hints`` as deterministic JSON bytes (non-finite values are null)."""
    return (
        json.dumps(public_hints(), sort_keys=True, separators=(",", ":")) + "\n"
    ).encode()
