"""Judge one outcome against one case's expected result, in words a student can act on.

Every message is safe to show: a hidden case's messages never carry its inputs, its
expected values or its shapes, only what went wrong and the likely cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.casebook import Case
from autograder.channel import FloatArray
from autograder.config import TOLERANCES
from autograder.diagnose import diagnose
from autograder.remote import Failed, Outcome, Raised, Returned

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


def describe_raised(subject: str, raised: Raised) -> str:
    """An exception in the student's words: type, message, line.

    ``subject`` names who raised it: "`create_qkv`" or "importing your file".
    """
    if raised.type == "NotImplementedError":
        return f"{subject} is not implemented yet (it raises NotImplementedError)"
    if raised.type == "ModuleNotFoundError" and raised.module:
        return (
            f"your file imports `{raised.module}`, which is not available to the grader "
            "(only numpy and the standard library are)"
        )
    where = f" at line {raised.line} of your file" if raised.line else ""
    if raised.type == "SystemExit":
        return f"{subject} called sys.exit ({raised.message}){where}"
    if raised.type == "RecursionError":
        return f"{subject} recursed too deeply (RecursionError){where}"
    if raised.type == "MemoryError":
        return (
            f"{subject} ran out of memory (MemoryError: over the memory limit){where}"
        )
    detail = f": {raised.message}" if raised.message else ""
    return f"{subject} raised {raised.type}{detail}{where}"


def judge(case: Case, outcome: Outcome) -> Verdict:
    """Compare ``outcome`` with ``case``; never raises."""
    name = case.function
    if isinstance(outcome, Failed):
        return Verdict(False, outcome.message)
    if case.raises is not None:
        return _judge_raises(case, outcome)
    if isinstance(outcome, Raised):
        return Verdict(False, describe_raised(f"`{name}`", outcome))
    structure = _structure_problem(case, outcome)
    if structure:
        return Verdict(False, structure)
    verdict = _judge_arrays(case, outcome)
    if verdict.passed and outcome.modified:
        params = PARAMETERS[name]
        which = ", ".join(f"`{params[i]}`" for i in outcome.modified if i < len(params))
        return Verdict(
            False,
            f"`{name}` modified its argument {which} in place; compute into new arrays "
            "instead (e.g. `x = x - m`, not `x -= m`)",
            returned=True,
        )
    return verdict


def _judge_raises(case: Case, outcome: Outcome) -> Verdict:
    if isinstance(outcome, Raised) and outcome.type == case.raises:
        return Verdict(True)
    heads = case.args[-1]
    context = (
        f"num_heads={heads}" if case.visibility == "public" else "a bad head count"
    )
    if isinstance(outcome, Raised):
        got = describe_raised(f"`{case.function}`", outcome)
        return Verdict(
            False, f"with {context}, {case.raises} was expected; instead {got}"
        )
    return Verdict(
        False,
        f"with {context}, `{case.function}` should raise {case.raises} "
        "(num_heads must be >= 1 and divide D), but it returned normally",
    )


def _structure_problem(case: Case, outcome: Returned) -> str | None:
    name = case.function
    wanted = len(case.expected)
    if wanted == 3:
        if outcome.container not in ("tuple", "list") or outcome.count != 3:
            got = (
                "a single value"
                if outcome.container == "single"
                else (f"a {outcome.container} of {outcome.count}")
            )
            return f"`{name}` should return a tuple (Q, K, V) of 3 arrays; it returned {got}"
    elif outcome.container != "single":
        return (
            f"`{name}` should return one numpy array; it returned a "
            f"{outcome.container} of {outcome.count}"
        )
    for meta in outcome.metas:
        if meta.not_array is not None:
            return f"`{name}` returned a `{meta.not_array}`, not a numpy array"
        if meta.withheld and case.check != "shapes":
            return (
                f"`{name}` returned an array of dtype {meta.dtype}; a floating-point "
                "array (float64, or float32) is expected"
            )
    return None


def _judge_arrays(case: Case, outcome: Returned) -> Verdict:
    public = case.visibility == "public"
    labels = ("Q", "K", "V") if len(case.expected) == 3 else ("output",)
    for label, meta, got, want in zip(
        labels, outcome.metas, outcome.values, case.expected
    ):
        if meta.shape != want.shape:
            shown = (
                f"{label} has shape {_shape(meta.shape)}, expected {_shape(want.shape)}"
                if public
                else f"{label} has the wrong shape (rank {len(meta.shape or ())}, "
                f"expected rank {want.ndim})"
            )
            return _with_diagnosis(case, outcome, f"`{case.function}`: {shown}")
        if case.check == "shapes":
            continue
        assert got is not None
        problem = _value_problem(got, want, public)
        if problem:
            return _with_diagnosis(
                case, outcome, f"`{case.function}`: {label} {problem}"
            )
    return Verdict(True, returned=True)


def _value_problem(got: FloatArray, want: FloatArray, public: bool) -> str | None:
    finite = np.isfinite(got)
    if not finite.all():
        bad = int((~finite).sum())
        return (
            f"contains NaN or inf ({bad} of {got.size} values); with large scores exp() "
            "overflows: subtract each row's maximum before exponentiating"
        )
    rtol, atol = TOLERANCES[str(got.dtype)]
    close = np.isclose(got, want, rtol=rtol, atol=atol)
    if close.all():
        return None
    wrong = int((~close).sum())
    if not public:
        return f"values differ from the expected result ({wrong} of {got.size} values)"
    error = np.abs(got.astype(np.float64) - want)
    where = np.unravel_index(int(np.argmax(error)), error.shape)
    index = tuple(int(i) for i in where)
    return (
        f"values differ in {wrong} of {got.size} places; the largest error is "
        f"{float(error[where]):.3g} at index {index} (expected {float(want[where]):.6g}, "
        f"got {float(got[where]):.6g})"
    )


def _with_diagnosis(case: Case, outcome: Returned, message: str) -> Verdict:
    cause = diagnose(case, outcome.values, [m.shape for m in outcome.metas])
    if cause:
        message += f". Likely cause: {cause}"
    return Verdict(False, message, diagnosis=cause, returned=True)
