"""The verdict on one outcome: whether a case passed, what a student reads when it did not,
and the known mistake the output reproduces.

``verdict`` never raises. It judges what came back (``contract.outcomes``) against the case,
with the reference's known wrong answers (``references``), the comparison's tolerances
(``compare``) and the fixed sentences of ``causes``; a hidden case's words never carry its
data, its exception text, counts or shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..contract.functions import PARAMETERS, SDPA, FloatArray
from ..contract.outcomes import Failed, Outcome, Raised, Returned
from ..contract.words import code, raised_summary, where_raised
from .case import Case
from .causes import (
    DTYPE_CAUSES,
    FLOAT32_SIZED_32,
    FLOAT32_SIZED_64,
    MODIFIED_IN_PLACE,
    NO_OWN_DIVISIBILITY_CHECK,
    NO_OWN_POSITIVE_CHECK,
    RAISE_NOT_ASSERT,
    RETURNS_PAIR,
    read_exception,
)
from .compare import FLOAT32_SIZED, Matcher, allowance, as64, is_finite, matches
from .describe import a_type, shape_problem, wrong_pattern
from .references import Known, NoReference, Reference


@dataclass(frozen=True)
class Verdict:
    """Whether a case passed, and what a student reads when it did not.

    ``problem`` says what went wrong in words safe for any case (it groups cases in
    feedback); ``detail`` adds a public case's shapes, numbers or exception text;
    ``diagnosis`` is the likely cause, always a fixed sentence; ``step`` says where
    localisation found it, for multi-head attention.
    """

    passed: bool
    problem: str = ""
    detail: str = ""
    diagnosis: str | None = None
    step: str | None = None
    returned: bool = False  # the function gave back arrays (gates mha.bad_heads)
    raised: Raised | None = None  # what it raised, when it did
    key: str | None = None  # the known mistake behind ``diagnosis``, when one is
    # every single known mistake the output reproduces: (key, explanation)
    matched: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        """Everything in one line: problem, detail and likely cause."""
        text = f"{self.problem}: {self.detail}" if self.detail else self.problem
        if self.diagnosis:
            text += f". Likely cause: {self.diagnosis}"
        return text

    @property
    def cause(self) -> str:
        """What feedback states once per submission for this failure."""
        return self.diagnosis or self.problem


# --- judging one outcome ----------------------------------------------------------------


def verdict(
    case: Case,
    outcome: Outcome,
    reference: Reference | None = None,
    source_lines: Sequence[str] = (),
    matcher: Matcher | None = None,
) -> Verdict:
    """Judge ``outcome`` against ``case``; never raises.

    ``reference`` brings the known wrong answers (none: no diagnosis from them);
    ``source_lines`` the student's file, to read the line an exception came from;
    ``matcher`` replaces the comparison of values (the Otter export's hidden cases).
    """
    reference = reference or NoReference()
    if isinstance(outcome, Failed):
        return Verdict(False, outcome.message)
    if case.raises is not None:
        return _judge_raises(case, outcome)
    if isinstance(outcome, Raised):
        problem, has_message = raised_summary(
            f"`{case.function}`", outcome, case.public
        )
        return Verdict(
            False,
            problem,
            code(outcome.message) if case.public and has_message else "",
            diagnosis=read_exception(case, outcome, source_lines),
            raised=outcome,
        )
    structure = _structure_problem(case, outcome)
    if structure is not None:
        return structure
    result = _judge_arrays(case, outcome, reference, matcher)
    if result.passed and outcome.modified:
        params = PARAMETERS[case.function]
        which = ", ".join(f"`{params[i]}`" for i in outcome.modified if i < len(params))
        return Verdict(
            False,
            f"`{case.function}` modified its argument {which} in place",
            diagnosis=MODIFIED_IN_PLACE,
            returned=True,
        )
    return result


def _judge_raises(case: Case, outcome: Returned | Raised) -> Verdict:
    """A bad head count: only a ValueError raised by the student's own code passes."""
    if (
        isinstance(outcome, Raised)
        and outcome.type == case.raises
        and outcome.raised_here
    ):
        return Verdict(True, raised=outcome)
    heads = case.args[-1]
    subject = f"`{case.function}`"
    detail = f"num_heads={heads}" if case.public else ""
    missing = (
        NO_OWN_POSITIVE_CHECK
        if isinstance(heads, int) and heads < 1
        else NO_OWN_DIVISIBILITY_CHECK
    )
    if isinstance(outcome, Returned):
        return Verdict(
            False,
            f"{subject} returned normally for a bad head count; it should raise "
            f"{case.raises} (num_heads must be >= 1 and divide D)",
            detail,
            diagnosis=missing,
            returned=True,
        )
    got, has_message = raised_summary(subject, outcome, case.public)
    if outcome.type == "NotImplementedError":
        return Verdict(False, got, raised=outcome)
    if has_message and case.public:
        detail += f"; {outcome.type}: {code(outcome.message)}"
    if outcome.type == case.raises:
        problem = (
            f"{subject} raised {case.raises} for a bad head count, but from inside a call "
            f"(numpy's, say){where_raised(outcome) if case.public else ''}, not from a check "
            "of your own"
        )
        return Verdict(False, problem, detail, diagnosis=missing, raised=outcome)
    cause = RAISE_NOT_ASSERT if outcome.type == "AssertionError" else missing
    return Verdict(
        False,
        f"{case.raises} was expected for a bad head count; instead {got}",
        detail,
        diagnosis=cause,
        raised=outcome,
    )


def _structure_problem(case: Case, outcome: Returned) -> Verdict | None:
    """A container, count or type that is not what the case expects."""
    name = case.function
    wanted = len(case.expected)
    got = (  # never its length: the submission chooses it
        "a single value"
        if outcome.container == "single"
        else f"a {outcome.container}" + (" of another length" if wanted > 1 else "")
    )
    if wanted == 3:
        if outcome.container not in ("tuple", "list") or outcome.count != 3:
            return Verdict(
                False,
                f"`{name}` should return a tuple (Q, K, V) of 3 arrays; it returned {got}",
            )
    elif outcome.container != "single":
        return Verdict(
            False,
            f"`{name}` should return one numpy array; it returned {got}",
            diagnosis=_returns_pair(case, outcome),
        )
    if len(outcome.metas) != wanted or len(outcome.values) != wanted:
        return Verdict(
            False, f"`{name}` returned other values than the {wanted} expected"
        )
    for meta in outcome.metas:
        if meta.not_array is not None:
            return Verdict(
                False, f"`{name}` returned {a_type(meta.not_array)}, not a numpy array"
            )
        if meta.withheld and case.check != "shapes":
            dtype = str(meta.dtype)
            return Verdict(
                False,
                f"`{name}` returned an array of dtype {dtype}; a "
                "floating-point array (float64, or float32) is expected",
                diagnosis=DTYPE_CAUSES.get(dtype.rstrip("0123456789")),
            )
    return None


def _returns_pair(case: Case, outcome: Returned) -> str | None:
    """RETURNS_PAIR when attention returned two arrays, the first of the right shape."""
    if case.function != SDPA or len(outcome.metas) != 2:
        return None
    first = outcome.metas[0].shape
    return RETURNS_PAIR if case.expected and first == case.expected[0].shape else None


def _judge_arrays(
    case: Case, outcome: Returned, reference: Reference, matcher: Matcher | None
) -> Verdict:
    labels = ("Q", "K", "V") if len(case.expected) == 3 else ("output",)
    shapes = [m.shape for m in outcome.metas]
    for index, (label, meta, got, want) in enumerate(
        zip(labels, outcome.metas, outcome.values, case.expected)
    ):
        if meta.shape != want.shape:
            problem, detail = shape_problem(case, meta.shape or (), want.shape)
            return _diagnosed(
                case,
                outcome,
                reference,
                Verdict(
                    False,
                    f"`{case.function}`: {label} {problem}",
                    detail if case.public else "",
                    returned=True,
                ),
                shape_only=case.check == "shapes",
            )
        if case.check == "shapes":
            continue
        if got is None:
            return Verdict(
                False, f"`{case.function}`: {label} could not be read", returned=True
            )
        if matcher is not None:
            if not is_finite(as64(got)).all():  # NaN or inf: said without the values
                return _value_problem(case, label, got, want, reference.magnitude) or (
                    Verdict(False, returned=True)
                )
            if matcher(index, as64(got), str(got.dtype)):
                continue
            problem = (
                f"`{case.function}`: {label} values differ from the expected result"
            )
            return Verdict(False, problem, returned=True)
        wrong = _value_problem(case, label, got, want, reference.magnitude)
        if wrong is not None:
            return _diagnosed(case, outcome, reference, wrong, shapes=shapes)
    return Verdict(True, returned=True)


def _value_problem(
    case: Case, label: str, got: FloatArray, want: FloatArray, magnitude: float
) -> Verdict | None:
    """What is wrong with the numbers (None when they pass)."""
    name = f"`{case.function}`: {label}"
    values = as64(got)
    finite = is_finite(values)
    if not finite.all():
        bad = int((~finite).sum())
        hint = (
            "with scores this large exp() overflows: subtract each row's maximum "
            "before exponentiating"
            if case.check == "stability"
            else "look for a division by zero or an exp() that overflows"
        )
        detail = f"{bad} of {values.size} values" if case.public else ""
        return Verdict(
            False, f"{name} contains NaN or inf ({hint})", detail, returned=True
        )
    dtype = str(got.dtype)
    error = abs(values - want)
    allowed = allowance(dtype, want, magnitude)
    wrong = error > allowed
    if not wrong.any():
        return None
    float32_allowed = allowance("float32", want, magnitude)
    sized = (error <= FLOAT32_SIZED * float32_allowed).all()
    diagnosis = None
    if sized:
        diagnosis = FLOAT32_SIZED_32 if dtype == "float32" else FLOAT32_SIZED_64
    detail = ""
    if case.public:
        where = np.unravel_index(int(error.argmax()), error.shape)
        index = tuple(int(i) for i in where)
        detail = (
            f"{int(wrong.sum())} of {values.size} differ; the largest error "
            f"is {float(error[where]):.3g} at index {index} (expected "
            f"{float(want[where]):.6g}, got {float(values[where]):.6g})"
            + (f", with {dtype} results" if dtype == "float32" else "")
            + wrong_pattern(case, wrong)
        )
    return Verdict(
        False,
        f"{name} values differ from the expected result",
        detail,
        diagnosis=diagnosis,
        returned=True,
    )


def _diagnosed(
    case: Case,
    outcome: Returned,
    reference: Reference,
    wrong: Verdict,
    shape_only: bool = False,
    shapes: Sequence[tuple[int, ...] | None] | None = None,
) -> Verdict:
    """``wrong`` with the known mistake the output reproduces, if any (the first one;
    every single one it reproduces is kept in ``matched``)."""
    found: list[Known] = []
    for known in reference.known():
        if found and "+" in known.key:
            break  # pairs only when no single mistake explains the output
        if matches(
            known,
            outcome.values,
            shapes or [m.shape for m in outcome.metas],
            shape_only,
            reference.magnitude,
        ):
            found.append(known)
            if "+" in known.key:
                break
    if not found:
        return wrong
    return replace(
        wrong,
        diagnosis=found[0].explanation,
        key=found[0].key,
        matched=tuple((k.key, k.explanation) for k in found),
    )
