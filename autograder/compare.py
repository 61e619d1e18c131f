"""Judge one outcome against one case's expected result, in words a student can act on.

Every message is safe to show. A public case's message is precise: the case's shapes, the
largest error and where, which batch elements or heads are wrong. A hidden case's message
never carries its inputs, expected values, shapes, sizes or indices (nor the text of an
exception the student's code raised there, which could echo its inputs): only what went
wrong, in symbols (B, L, D, Lq, dv), and the likely cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from autograder.casebook import Case
from autograder.channel import OTHER_DTYPE, OWN_CLASS, FloatArray
from autograder.config import TOLERANCES
from autograder.diagnose import diagnose, diagnose_raised
from autograder.remote import Failed, Outcome, Raised, Returned, describe_raised

PARAMETERS: dict[str, tuple[str, ...]] = {
    "create_qkv": ("inputs", "weights_q", "weights_k", "weights_v"),
    "scaled_dot_product_attention": ("Q", "K", "V", "scale"),
    "multi_head_attention": (
        "inputs",
        "weights_q",
        "weights_k",
        "weights_v",
        "num_heads",
    ),
}


@dataclass(frozen=True)
class Verdict:
    """Whether a case passed, and the student-facing explanation when it did not."""

    passed: bool
    message: str = ""
    diagnosis: str | None = None
    returned: bool = False  # the function gave back arrays (gates mha.bad_heads)


def _shape(shape: tuple[int, ...] | None) -> str:
    return (
        "("
        + ", ".join(str(d) for d in shape or ())
        + ("," if len(shape or ()) == 1 else "")
        + ")"
    )


def _subject(case: Case) -> str:
    """The function, with the public case's shapes: "`f` on B=2, L=5, D=8, 2 heads"."""
    if case.visibility == "public":
        return f"`{case.function}` on {case.description}"
    return f"`{case.function}`"


def judge(case: Case, outcome: Outcome) -> Verdict:
    """Compare ``outcome`` with ``case``; never raises."""
    name = case.function
    if isinstance(outcome, Failed):
        return Verdict(False, outcome.message)
    if case.raises is not None:
        return _judge_raises(case, outcome)
    if isinstance(outcome, Raised):
        subject = f"`{name}`" if outcome.type == "NotImplementedError" else None
        message = describe_raised(
            subject or _subject(case), outcome, show_message=case.visibility == "public"
        )
        cause = diagnose_raised(case, outcome)
        if cause:
            message += f". Likely cause: {cause}"
        return Verdict(False, message, diagnosis=cause)
    structure = _structure_problem(case, outcome)
    if structure:
        return Verdict(False, structure)
    verdict = _judge_arrays(case, outcome)
    if verdict.passed and outcome.modified:
        params = PARAMETERS[name]
        which = ", ".join(f"`{params[i]}`" for i in outcome.modified if i < len(params))
        cause = (
            f"`{name}` modified its argument {which} in place; compute into new arrays "
            "instead (e.g. `x = x - m` or `scores = Q @ K_t * scale`, not `x -= m` or "
            "`Q *= scale`)"
        )
        return Verdict(False, cause, diagnosis=cause, returned=True)
    return verdict


NO_VALUE_ERROR = (
    "no ValueError for a head count that does not divide D (or is < 1): check "
    "`num_heads < 1 or D % num_heads != 0` first and `raise ValueError(...)`"
)
RAISE_NOT_ASSERT = (
    "use `raise ValueError(...)` for a bad head count, not `assert` (an assert raises "
    "AssertionError, and vanishes under python -O)"
)
CHECK_BEFORE_DIVIDING = (
    "check `num_heads < 1` before dividing by it, and `raise ValueError(...)`"
)


def _judge_raises(case: Case, outcome: Outcome) -> Verdict:
    if isinstance(outcome, Raised) and outcome.type == case.raises:
        return Verdict(True)
    heads = case.args[-1]
    context = (
        f"num_heads={heads}" if case.visibility == "public" else "a bad head count"
    )
    if isinstance(outcome, Raised):
        got = describe_raised(
            f"`{case.function}`", outcome, show_message=case.visibility == "public"
        )
        cause = {
            "AssertionError": RAISE_NOT_ASSERT,
            "ZeroDivisionError": CHECK_BEFORE_DIVIDING,
            "NotImplementedError": None,
        }.get(outcome.type, NO_VALUE_ERROR)
        because = f". Likely cause: {cause}" if cause else ""
        return Verdict(
            False,
            f"with {context}, {case.raises} was expected; instead {got}{because}",
            diagnosis=cause,
        )
    return Verdict(
        False,
        f"with {context}, `{case.function}` should raise {case.raises} "
        "(num_heads must be >= 1 and divide D), but it returned normally. "
        f"Likely cause: {NO_VALUE_ERROR}",
        diagnosis=NO_VALUE_ERROR,
        returned=isinstance(outcome, Returned),
    )


def _structure_problem(case: Case, outcome: Returned) -> str | None:
    name = case.function
    wanted = len(case.expected)
    if wanted == 3:
        if outcome.container not in ("tuple", "list") or outcome.count != 3:
            got = (  # the count itself is the submission's to choose: never shown
                "a single value"
                if outcome.container == "single"
                else f"a {outcome.container} of another length"
            )
            return f"`{name}` should return a tuple (Q, K, V) of 3 arrays; it returned {got}"
    elif outcome.container != "single":
        return (
            f"`{name}` should return one numpy array; it returned a {outcome.container}"
        )
    if len(outcome.metas) != wanted or len(outcome.values) != wanted:
        return f"`{name}` returned {len(outcome.metas)} values where {wanted} were expected"
    for meta in outcome.metas:
        if meta.not_array is not None:
            what = (  # a class name of the submission's own is free text: never shown
                "an object of its own class"
                if meta.not_array == OWN_CLASS
                else f"a `{meta.not_array}`"
            )
            return f"`{name}` returned {what}, not a numpy array"
        if meta.withheld and case.check != "shapes":
            dtype = (
                "an unsupported dtype"
                if meta.dtype == OTHER_DTYPE
                else f"dtype {meta.dtype}"
            )
            return (
                f"`{name}` returned an array of {dtype}; a floating-point "
                "array (float64, or float32) is expected"
            )
    return None


def _axis_names(case: Case, rank: int) -> tuple[str, ...]:
    """What each axis of the expected result means, in the handout's symbols."""
    if case.function == "scaled_dot_product_attention":
        leading = tuple(f"batch axis {i} (as in Q)" for i in range(rank - 2))
        return leading + ("Lq (Q's rows)", "dv (V's last axis)")
    return ("B (batch)", "L (sequence length)", "D (model width)")


def _shape_problem(
    case: Case, label: str, got: tuple[int, ...], want: tuple[int, ...]
) -> str:
    """Which axes are wrong, in symbols; with the numbers on public cases only."""
    public = case.visibility == "public"
    shown = f" (shape {_shape(got)}, expected {_shape(want)})" if public else ""
    if len(got) != len(want):
        layout = (
            "(..., Lq, dv) with Q's leading axes"
            if case.function == "scaled_dot_product_attention"
            else "(B, L, D)"
        )
        return f"{label} has the wrong shape{shown}: wrong number of axes; expected {layout}"
    names = _axis_names(case, len(want))
    wrong = [names[i] for i, (g, w) in enumerate(zip(got, want)) if g != w]
    return f"{label} has the wrong shape{shown}: wrong size on axis " + ", ".join(wrong)


def _judge_arrays(case: Case, outcome: Returned) -> Verdict:
    labels = ("Q", "K", "V") if len(case.expected) == 3 else ("output",)
    for label, meta, got, want in zip(
        labels, outcome.metas, outcome.values, case.expected
    ):
        if meta.shape != want.shape:
            wrong = _shape_problem(case, label, meta.shape or (), want.shape)
            return _with_diagnosis(case, outcome, f"{_subject(case)}: {wrong}")
        if case.check == "shapes":
            continue
        assert got is not None
        problem, hint = _value_problem(case, got, want)
        if problem:
            return _with_diagnosis(
                case, outcome, f"{_subject(case)}: {label} {problem}", hint
            )
    return Verdict(True, returned=True)


def _value_problem(
    case: Case, got: FloatArray, want: FloatArray
) -> tuple[str | None, str | None]:
    """What is wrong with the numbers, and a hint for when no known mistake explains it."""
    public = case.visibility == "public"
    finite = np.isfinite(got)
    if not finite.all():
        bad = int((~finite).sum())
        count = f" ({bad} of {got.size} values)" if public else ""
        hint = (
            "with scores this large exp() overflows: subtract each row's maximum "
            "before exponentiating"
            if case.check == "stability"
            else "look for a division by zero or an exp() that overflows"
        )
        return f"contains NaN or inf{count}", hint
    rtol, atol = TOLERANCES[str(got.dtype)]
    close = np.isclose(got, want, rtol=rtol, atol=atol)
    if close.all():
        return None, None
    wrong = int((~close).sum())
    if not public:
        extent = "in every value" if wrong == got.size else "in some values"
        return f"values differ from the expected result ({extent})", None
    error = np.abs(got.astype(np.float64) - want)
    where = np.unravel_index(int(np.argmax(error)), error.shape)
    index = tuple(int(i) for i in where)
    return (
        f"values differ in {wrong} of {got.size} places; the largest error is "
        f"{float(error[where]):.3g} at index {index} (expected {float(want[where]):.6g}, "
        f"got {float(got[where]):.6g})" + _pattern(case, ~close)
    ), None


def _pattern(case: Case, wrong: npt.NDArray[np.bool_]) -> str:
    """Where the wrong values sit (public cases): some batch elements, some heads."""
    notes = []
    if wrong.ndim >= 3 and wrong.shape[0] > 1:
        bad = [i for i in range(wrong.shape[0]) if wrong[i].any()]
        if len(bad) < wrong.shape[0]:
            notes.append(f"only batch element(s) {bad} are wrong")
    heads = case.args[-1]
    if case.function == "multi_head_attention" and isinstance(heads, int) and heads > 1:
        width = wrong.shape[-1] // heads
        bad = [h for h in range(heads) if wrong[..., h * width : (h + 1) * width].any()]
        if len(bad) < heads:
            notes.append(f"only head(s) {bad} of {heads} (column blocks) are wrong")
    return "; " + "; ".join(notes) if notes else ""


def _with_diagnosis(
    case: Case, outcome: Returned, message: str, hint: str | None = None
) -> Verdict:
    cause = diagnose(case, outcome.values, [m.shape for m in outcome.metas])
    if cause:
        message += f". Likely cause: {cause}"
    elif hint:
        message += f" ({hint})"
    return Verdict(False, message, diagnosis=cause, returned=True)
