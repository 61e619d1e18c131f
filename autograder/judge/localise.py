"""Localisation by experiment for multi-head attention: the student's own helpers called on
the case's inputs and on correct per-head arrays, to find the first wrong step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..contract.functions import MHA, QKV, SDPA, Argument, FloatArray
from ..contract.outcomes import Failed, Outcome, Raised, Returned
from .case import Case
from .causes import (
    RETURNS_PAIR,
    STEP_QKV,
    STEP_SDPA,
    STEP_SPLIT_MERGE,
    WHERE_QKV,
    WHERE_SDPA,
    read_exception,
)
from .compare import TOLERANCES, allowance, as64, is_finite, matches
from .references import Known, Reference, Steps
from .verdict import Verdict

Call = Callable[[str, list[Argument], int], Outcome]
"""Call a student function by its canonical name with arguments and a size bound."""
Deferred = Callable[[], Outcome]  # a call made only if needed


def _nbytes(arrays: Sequence[FloatArray]) -> int:
    return sum(a.nbytes for a in arrays)


def localise(
    case: Case,
    found: Verdict,
    reference: Reference,
    call: Call,
    source_lines: Sequence[str] = (),
) -> Verdict:
    """Find the first wrong step of a failing multi_head_attention case by experiment.

    The student's create_qkv runs on the case's inputs, and their
    scaled_dot_product_attention on the per-head arrays a correct split of those gives;
    their results are compared with the reference's. A cause is named only where a known
    wrong answer is reproduced (or an exception read); otherwise the verdict says which
    step is first wrong. A verdict already explained by a known wrong answer of the whole
    function keeps it.
    """
    steps = reference.steps()
    if (
        steps is None
        or found.passed
        or case.function != MHA
        or not (found.returned or found.raised)
        or (found.raised is not None and found.raised.type == "NotImplementedError")
    ):
        return found
    if found.key is not None:
        return _earlier_step(case, found, steps, reference, call)
    qkv = call(QKV, list(case.args[:4]), _nbytes(steps.qkv))
    qkv_wrong = _step_wrong(qkv, steps.qkv, steps.qkv_known, reference.magnitude)
    if qkv_wrong is not None:
        cause, key = qkv_wrong.diagnosis, qkv_wrong.key
        if cause is None and isinstance(qkv, Raised):
            cause = read_exception(replace(case, function=QKV), qkv, source_lines)
        if cause is None:
            return replace(found, diagnosis=STEP_QKV, step=None, key=None)
        return replace(found, diagnosis=cause, step=WHERE_QKV, key=key)
    attended = call(SDPA, [*steps.heads, steps.scale], steps.attended.nbytes)
    sdpa_wrong = _step_wrong(
        attended, (steps.attended,), steps.attention_known, reference.magnitude
    )
    if sdpa_wrong is not None:
        cause, key = sdpa_wrong.diagnosis, sdpa_wrong.key
        if cause is None and isinstance(attended, Raised):
            heads_case = replace(case, function=SDPA)
            cause = read_exception(heads_case, attended, source_lines)
        if cause is None:
            return replace(found, diagnosis=STEP_SDPA, step=None, key=None)
        return replace(found, diagnosis=cause, step=WHERE_SDPA, key=key)
    if isinstance(qkv, Failed) or isinstance(attended, Failed):
        return found  # no evidence either way (time budget, a hang)
    if (
        isinstance(attended, Returned)
        and attended.container == "tuple"
        and found.raised is not None
        and "tuple" in found.raised.message
    ):
        return replace(found, diagnosis=RETURNS_PAIR, step=WHERE_SDPA, key=None)
    if found.diagnosis is not None:
        return found  # an exception reading in multi_head_attention itself
    return replace(found, diagnosis=STEP_SPLIT_MERGE)


def _earlier_step(
    case: Case, found: Verdict, steps: Steps, reference: Reference, call: Call
) -> Verdict:
    """A multi-head output that reproduces a known mistake: name the helper instead when
    the helper, on the evidence, reproduces one of the same known mistakes (the output
    alone cannot tell ``scale * scale`` passed by multi-head from attention that scales
    twice)."""
    helpers: list[tuple[Deferred, tuple[FloatArray, ...], tuple[Known, ...], str]] = [
        (
            lambda: call(QKV, list(case.args[:4]), _nbytes(steps.qkv)),
            steps.qkv,
            steps.qkv_known,
            WHERE_QKV,
        ),
        (
            lambda: call(SDPA, [*steps.heads, steps.scale], steps.attended.nbytes),
            (steps.attended,),
            steps.attention_known,
            WHERE_SDPA,
        ),
    ]
    for run, right, known, where in helpers:
        if not any((k.key, k.explanation) in found.matched for k in known):
            continue
        wrong = _step_wrong(run(), right, known, reference.magnitude)
        if wrong is not None and set(wrong.matched) & set(found.matched):
            return replace(found, diagnosis=wrong.diagnosis, key=wrong.key, step=where)
    return found


def _step_wrong(
    outcome: Outcome,
    right: Sequence[FloatArray],
    known: Sequence[Known],
    magnitude: float,
) -> Verdict | None:
    """None when a helper's result on the evidence is right (or unknown: a failed call);
    else a verdict with the known mistakes it reproduces (``key``, ``diagnosis`` and
    ``matched``; none when nothing known matches).

    Attention that returns (output, weights) with the right output counts as right here:
    multi_head_attention may unpack it.
    """
    if isinstance(outcome, Failed):
        return None
    if isinstance(outcome, Raised):
        return Verdict(False, raised=outcome)
    values = list(outcome.values)
    shapes = [m.shape for m in outcome.metas]
    if len(right) == 1 and outcome.container == "tuple" and len(outcome.metas) == 2:
        values, shapes = values[:1], shapes[:1]
    if len(values) != len(right) or any(v is None for v in values):
        return Verdict(False)
    arrays = [v for v in values if v is not None]
    if all(
        v.shape == r.shape
        and str(v.dtype) in TOLERANCES
        and is_finite(as64(v)).all()
        and (abs(as64(v) - r) <= allowance(str(v.dtype), r, magnitude)).all()
        for v, r in zip(arrays, right)
    ):
        return None
    hits = [k for k in known if matches(k, arrays, shapes, False, magnitude)]
    if not hits:
        return Verdict(False)
    return Verdict(
        False,
        diagnosis=hits[0].explanation,
        key=hits[0].key,
        matched=tuple((k.key, k.explanation) for k in hits),
    )
