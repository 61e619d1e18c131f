"""The one judge: compare a call's outcome with a case, say what is wrong, name the cause.

The grader, the handout's ``check.py`` and the Otter export all ship and run this very module
(``make handout`` and ``make otter`` copy its bytes), so a public case gets the same verdict,
the same words and the same likely cause everywhere. It imports only numpy, the standard
library and ``source_text`` beside it, and it holds no correct computation: what a right
answer and the known wrong ones look like arrives as data (``Reference``), which the grader
replays from its catalogue and the deliveries read from a file of public cases.

Four parts: the typed outcomes of a call and how to get one in-process; comparison (with
float32 tolerances derived per case); descriptions (a hidden case's never carry its data, its
exception text, counts or shapes); and diagnosis: known wrong answers, numpy's error texts
and the student's own line, and, for multi-head attention, localisation by experiment (the
student's own helpers called on the case's inputs and on correct per-head arrays).
"""

from __future__ import annotations

import contextlib
import dis
import hashlib
import importlib.abc
import importlib.machinery
import io
import math
import re
import signal
import struct
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..contract.source_text import line_ref

FloatArray = npt.NDArray[np.floating[Any]]
Argument = FloatArray | int | float

QKV, SDPA, MHA = "create_qkv", "scaled_dot_product_attention", "multi_head_attention"
FUNCTIONS: tuple[str, ...] = (QKV, SDPA, MHA)
# The third function has two accepted names (the skeleton's first).
FUNCTION_ALIASES: dict[str, tuple[str, ...]] = {
    QKV: (QKV,),
    SDPA: (SDPA,),
    MHA: (MHA, "multi_head_self_attention"),
}
PARAMETERS: dict[str, tuple[str, ...]] = {
    QKV: ("inputs", "weights_q", "weights_k", "weights_v"),
    SDPA: ("Q", "K", "V", "scale"),
    MHA: ("inputs", "weights_q", "weights_k", "weights_v", "num_heads"),
}
# The assignment's own main(): inputs (1, 5, 32), 4 heads (public; the handout shows it).
EXAMPLE_SHAPE, EXAMPLE_HEADS = (1, 5, 32), 4

# (rtol, atol) per accepted result dtype; any other dtype fails, naming it.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-5, 1e-8),
    "float32": (1e-4, 1e-6),
}
# A float32 result may also miss by FLOAT32_ROUNDING * eps32 * the case's magnitude: the
# size of float32 rounding in the quantities the result depends on (docs/diagnosis.md).
FLOAT32_EPS = 2.0**-23
FLOAT32_ROUNDING = 4.0
# A failing float32 (or float64) result whose error stays within this many float32
# allowances is called float32-sized in feedback.
FLOAT32_SIZED = 10.0
# Known wrong answers are matched with this tolerance (and NaN/inf at the same places).
MATCH_RTOL, MATCH_ATOL = 1e-4, 1e-6


# --- cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One call to a student function and what it must give back."""

    id: str
    item: str
    function: str
    description: str
    visibility: str  # "public" or "hidden"
    args: tuple[Argument, ...]
    expected: tuple[FloatArray, ...]  # empty when the call must raise
    raises: str | None

    @property
    def check(self) -> str:
        """What is judged: "values", "shapes", "stability" or "bad_heads"."""
        return self.item.split(".", 1)[1]

    @property
    def public(self) -> bool:
        """Public cases may be described precisely; hidden ones never are."""
        return self.visibility == "public"

    @property
    def expected_bytes(self) -> int:
        """Size of the expected output, the bound for what the grader reads back."""
        return sum(a.nbytes for a in self.expected) or 1 << 12

    @property
    def label(self) -> str:
        """How feedback names this case: public cases by shape, hidden ones by number."""
        if self.public:
            return f"public case {self.id} ({self.description})"
        return f"hidden case {self.id}"


def array_from_json(raw: dict[str, Any]) -> FloatArray:
    """A fixture array (``{"dtype", "shape", "data"}``, null for NaN), read-only."""
    data = [np.nan if value is None else value for value in raw["data"]]
    array = np.asarray(data, dtype=np.dtype(raw.get("dtype", "float64")))
    array = array.reshape(raw["shape"])
    array.setflags(write=False)
    return array


def array_to_json(array: FloatArray, digits: int = 17) -> dict[str, Any]:
    """``array_from_json``'s inverse, with ``digits`` significant digits (NaN/inf: null)."""
    data = [
        float(f"{value:.{digits}g}") if value - value == 0 else None
        for value in array.astype("float64").ravel().tolist()
    ]
    return {"dtype": "float64", "shape": list(array.shape), "data": data}


def case_from_json(raw: dict[str, Any], visibility: str) -> Case:
    """A case as the fixture files (and the Otter export) write it."""

    def argument(arg: dict[str, Any]) -> Argument:
        if "array" in arg:
            return array_from_json(arg["array"])
        if "int" in arg:
            return int(arg["int"])
        return float(arg["float"])

    expected = raw["expected"]
    return Case(
        id=raw["id"],
        item=raw["item"],
        function=raw["function"],
        description=raw.get("description", ""),
        visibility=visibility,
        args=tuple(argument(a) for a in raw["args"]),
        expected=tuple(array_from_json(a) for a in expected.get("arrays", [])),
        raises=expected.get("raises"),
    )


# --- outcomes of a call -----------------------------------------------------------------


class ArrayFacts(Protocol):
    """What is known about one returned value before its numbers are read."""

    @property
    def dtype(self) -> str | None: ...
    @property
    def shape(self) -> tuple[int, ...] | None: ...
    @property
    def not_array(self) -> str | None: ...
    @property
    def withheld(self) -> bool: ...
    @property
    def too_large(self) -> bool: ...


@dataclass(frozen=True)
class Meta:
    """``ArrayFacts`` of a value returned in-process (the grader's come from its channel)."""

    dtype: str | None
    shape: tuple[int, ...] | None
    not_array: str | None = None
    withheld: bool = False  # a dtype no tolerance exists for: its numbers are not read
    too_large: bool = False  # over the size bound: its numbers are not read


@dataclass(frozen=True)
class Returned:
    """The function returned; ``values`` holds what came back, one entry per element."""

    container: str  # "single", "tuple" or "list"
    count: int | None  # how many values came back (None: not a count the grader trusts)
    metas: tuple[ArrayFacts, ...]
    values: tuple[FloatArray | None, ...]
    modified: tuple[int, ...]


@dataclass(frozen=True)
class Raised:
    """The function raised an exception (or called sys.exit).

    ``line`` and ``function`` name the innermost place in the student's file the exception
    passed; ``raised_here`` says a ``raise`` statement there raised it (rather than a
    library call, numpy's reshape say, or an operation like ``//``).
    """

    type: str
    message: str
    line: int | None
    module: str | None = None
    function: str | None = None
    raised_here: bool = False


@dataclass(frozen=True)
class Failed:
    """The call produced no answer: timeout, crash, exit, missing function, bad reply."""

    kind: str
    message: str


Outcome = Returned | Raised | Failed


# --- the verdict ------------------------------------------------------------------------


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


def code(text: str) -> str:
    """``text`` as a Markdown code span: literal whatever it holds, one line."""
    flat = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


# --- comparison -------------------------------------------------------------------------


def allowance(dtype: str, want: FloatArray, magnitude: float) -> FloatArray:
    """How far each returned value may be from ``want``, for a result of ``dtype``.

    float64 results get the kit's fixed tolerance. float32 results also get
    ``FLOAT32_ROUNDING * eps32 * magnitude``, where ``magnitude`` is the case's float32
    rounding scale (see ``Reference.magnitude``).
    """
    rtol, atol = TOLERANCES[dtype]
    allowed: FloatArray = abs(want) * rtol + atol
    if dtype == "float32":
        allowed = allowed + FLOAT32_ROUNDING * FLOAT32_EPS * magnitude
    return allowed


def _finite(values: FloatArray) -> npt.NDArray[np.bool_]:
    """Finite entries, without numpy functions a submission in the same process could
    replace (``x - x`` is NaN exactly for NaN and inf)."""
    finite: npt.NDArray[np.bool_] = (values - values) == 0
    return finite


def _as64(values: FloatArray) -> FloatArray:
    return np.ndarray.astype(values, "float64")


class Matcher(Protocol):
    """An outside judgement of one returned array's values (the Otter export's hidden
    cells): True when they pass."""

    def __call__(self, index: int, values: FloatArray, dtype: str) -> bool: ...


# --- references: what right and known wrong answers look like ---------------------------


@dataclass(frozen=True)
class Known:
    """What one misconception gives on one case, and its words."""

    key: str
    explanation: str
    arrays: tuple[FloatArray | None, ...]  # None: only the shape is known
    shapes: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Steps:
    """A multi-head case done right step by step, and the helpers' known wrong answers.

    ``qkv`` is create_qkv on the case's inputs; ``heads`` the per-head arrays
    (B, h, L, head_dim) a correct split of them gives; ``attended`` attention on those with
    ``scale``, before the heads are merged.
    """

    qkv: tuple[FloatArray, ...]
    qkv_known: tuple[Known, ...]
    heads: tuple[FloatArray, ...]
    scale: float
    attended: FloatArray
    attention_known: tuple[Known, ...]


class Reference(Protocol):
    """What the judge knows about a case besides its expected values."""

    @property
    def magnitude(self) -> float:
        """The case's float32 rounding scale: the largest quantity whose rounding reaches
        the result (``|X| @ |W|`` for create_qkv; ``max|V| * (1 + scale * max(|Q| @
        |K|^T))`` for attention, per head in multi-head)."""
        ...

    def known(self) -> Iterable[Known]:
        """Known wrong answers on the case, most likely first (may be computed lazily)."""
        ...

    def steps(self) -> Steps | None:
        """For a multi-head case, the evidence localisation compares against."""
        ...


@dataclass(frozen=True)
class NoReference:
    """A case the judge knows nothing more about (the Otter export's hidden cases)."""

    magnitude: float = 0.0

    def known(self) -> Iterable[Known]:
        """None known."""
        return ()

    def steps(self) -> Steps | None:
        """No evidence."""
        return None


@dataclass(frozen=True)
class ShippedReference:
    """A reference read from the deliveries' data file (public cases only)."""

    magnitude: float
    known_answers: tuple[Known, ...]
    step_data: Steps | None

    def known(self) -> Iterable[Known]:
        """The known wrong answers, as shipped."""
        return self.known_answers

    def steps(self) -> Steps | None:
        """The evidence, as shipped."""
        return self.step_data


def known_to_json(known: Known, with_values: bool) -> dict[str, Any]:
    """One known wrong answer as the deliveries' data file holds it."""
    arrays = [
        (
            array_to_json(a, 8)
            if a is not None and with_values
            else {"shape": list(s), "data": None}
        )
        for a, s in zip(known.arrays, known.shapes)
    ]
    return {"key": known.key, "explanation": known.explanation, "arrays": arrays}


def known_from_json(raw: dict[str, Any]) -> Known:
    """``known_to_json``'s inverse."""
    arrays = tuple(
        None if a["data"] is None else array_from_json(a) for a in raw["arrays"]
    )
    shapes = tuple(tuple(int(d) for d in a["shape"]) for a in raw["arrays"])
    return Known(raw["key"], raw["explanation"], arrays, shapes)


def reference_to_json(reference: Reference, case: Case) -> dict[str, Any]:
    """A public case's reference for the deliveries' data file."""
    values = case.check != "shapes"
    data: dict[str, Any] = {
        "magnitude": reference.magnitude,
        "known": [known_to_json(k, values) for k in reference.known()],
    }
    steps = reference.steps()
    if steps is not None:
        data["steps"] = {
            "qkv": [array_to_json(a, 13) for a in steps.qkv],
            "qkv_known": [known_to_json(k, True) for k in steps.qkv_known],
            "heads": [array_to_json(a, 13) for a in steps.heads],
            "scale": steps.scale,
            "attended": array_to_json(steps.attended, 13),
            "attention_known": [known_to_json(k, True) for k in steps.attention_known],
        }
    return data


def reference_from_json(raw: dict[str, Any]) -> ShippedReference:
    """``reference_to_json``'s inverse."""
    steps = raw.get("steps")
    return ShippedReference(
        float(raw["magnitude"]),
        tuple(known_from_json(k) for k in raw["known"]),
        (
            Steps(
                tuple(array_from_json(a) for a in steps["qkv"]),
                tuple(known_from_json(k) for k in steps["qkv_known"]),
                tuple(array_from_json(a) for a in steps["heads"]),
                float(steps["scale"]),
                array_from_json(steps["attended"]),
                tuple(known_from_json(k) for k in steps["attention_known"]),
            )
            if steps
            else None
        ),
    )


def matches(
    known: Known,
    values: Sequence[FloatArray | None],
    shapes: Sequence[tuple[int, ...] | None],
    shape_only: bool,
    magnitude: float = 0.0,
) -> bool:
    """Same shapes, and (unless only shapes are graded) the same numbers.

    Numbers match within ``MATCH_RTOL``/``MATCH_ATOL`` (plus a float32 result's rounding
    allowance); non-finite values match when the known answer is non-finite at the same
    places, so an unstabilised softmax is recognised by where its NaNs are.
    """
    if len(known.shapes) != len(values):
        return False
    for want, want_shape, got, shape in zip(known.arrays, known.shapes, values, shapes):
        if want_shape != shape:
            return False
        if shape_only:
            continue
        if got is None or want is None:
            return False
        got64 = _as64(got)
        finite = _finite(got64)
        if not ((finite == _finite(want)).all()):
            return False
        allowed = abs(want[finite]) * MATCH_RTOL + MATCH_ATOL
        if str(got.dtype) == "float32":
            allowed = allowed + FLOAT32_ROUNDING * FLOAT32_EPS * magnitude
        if not (abs(got64[finite] - want[finite]) <= allowed).all():
            return False
    return True


def first_match(
    known: Iterable[Known],
    values: Sequence[FloatArray | None],
    shapes: Sequence[tuple[int, ...] | None],
    shape_only: bool = False,
    magnitude: float = 0.0,
) -> Known | None:
    """The first known wrong answer the student's output reproduces."""
    return next(
        (k for k in known if matches(k, values, shapes, shape_only, magnitude)), None
    )


# --- descriptions -----------------------------------------------------------------------


def shape_text(shape: Sequence[int] | None) -> str:
    """A shape as NumPy prints it: (2, 5, 8), (3,)."""
    return str(tuple(int(d) for d in shape or ()))


def missing_function(function: str) -> str:
    """The message when a graded function is not defined."""
    names = " or ".join(f"`{alias}`" for alias in FUNCTION_ALIASES[function])
    return f"no function named {names} was found at the top level of your file"


def unavailable_module(module: str) -> str:
    """The message for an import the grader cannot satisfy (the same everywhere)."""
    return (
        f"your file imports {code(module)}, which is not available to the grader "
        "(only numpy and the standard library are)"
    )


def _where(raised: Raised) -> str:
    """Where in the student's file an exception was raised or passed."""
    if raised.line is None:
        return ""
    place = f" at {line_ref(raised.line)} of your file"
    if raised.function and raised.function != "<module>":
        place += f", in your function {code(raised.function)}"
    return place


OWN_CLASS = "object of its own class"  # the grader names no class a submission made


def _a_type(name: str) -> str:
    """ "a `list`", or "an object of its own class"."""
    return "an " + OWN_CLASS if name == OWN_CLASS else f"a {code(name)}"


def _raised_summary(
    subject: str, raised: Raised, public: bool = True
) -> tuple[str, bool]:
    """An exception in the student's words, and whether its message adds anything.

    On a hidden case (``public`` False) nothing the submission chose appears: no line,
    no function name, no module name (it could pick them from the hidden inputs).
    """
    if raised.type == "NotImplementedError":
        return (
            f"{subject} is not implemented yet (it raises NotImplementedError)",
            False,
        )
    if raised.type == "ModuleNotFoundError" and raised.module and public:
        return unavailable_module(raised.module), False
    where = _where(raised) if public else ""
    if raised.type == "SystemExit":
        return f"{subject} called sys.exit{where}", False
    if raised.type == "RecursionError":
        return f"{subject} recursed too deeply (RecursionError){where}", False
    if raised.type == "MemoryError":
        return (
            f"{subject} ran out of memory (MemoryError: over the memory limit){where}",
            False,
        )
    return f"{subject} raised {raised.type}{where}", bool(raised.message)


def describe_raised(subject: str, raised: Raised, show_message: bool = True) -> str:
    """An exception in the student's words: type, where, and (public) its message.

    ``subject`` names who raised it: "`create_qkv`" or "importing your file".
    ``show_message`` is False on hidden cases, whose exception text could echo inputs.
    """
    text, has_message = _raised_summary(subject, raised, show_message)
    return text + (f": {code(raised.message)}" if show_message and has_message else "")


def import_failure(failure: Failed | Raised) -> Failed:
    """What every call reports when the module could not be imported at all."""
    if isinstance(failure, Failed):
        return failure
    kind = "missing_module" if failure.type == "ModuleNotFoundError" else "import_error"
    return Failed(kind, describe_raised("importing your file", failure))


def _axis_names(case: Case, rank: int) -> tuple[str, ...]:
    """What each axis of the expected result means, in the handout's symbols."""
    if case.function == SDPA:
        leading = tuple(f"batch axis {i} (as in Q)" for i in range(rank - 2))
        return leading + ("Lq (Q's rows)", "dv (V's last axis)")
    return ("B (batch)", "L (sequence length)", "D (model width)")


def _shape_problem(
    case: Case, got: tuple[int, ...], want: tuple[int, ...]
) -> tuple[str, str]:
    """Which axes are wrong, in symbols; the numbers go to the public detail."""
    detail = f"shape {shape_text(got)}, expected {shape_text(want)}"
    if len(got) != len(want):
        layout = (
            "(..., Lq, dv) with Q's leading axes"
            if case.function == SDPA
            else "(B, L, D)"
        )
        return f"has the wrong shape: wrong number of axes; expected {layout}", detail
    names = _axis_names(case, len(want))
    wrong = [names[i] for i, (g, w) in enumerate(zip(got, want)) if g != w]
    return "has the wrong shape: wrong size on axis " + ", ".join(wrong), detail


def _pattern(case: Case, wrong: npt.NDArray[np.bool_]) -> str:
    """Where the wrong values sit (public cases): some batch elements, some heads."""
    notes = []
    if wrong.ndim >= 3 and wrong.shape[0] > 1:
        bad = [i for i in range(wrong.shape[0]) if wrong[i].any()]
        if len(bad) < wrong.shape[0]:
            notes.append(f"only batch element(s) {bad} are wrong")
    heads = case.args[-1]
    if case.function == MHA and isinstance(heads, int) and heads > 1:
        width = wrong.shape[-1] // heads
        bad = [h for h in range(heads) if wrong[..., h * width : (h + 1) * width].any()]
        if len(bad) < heads:
            notes.append(f"only head(s) {bad} of {heads} (column blocks) are wrong")
    return "; " + "; ".join(notes) if notes else ""


# --- diagnosis: fixed sentences ---------------------------------------------------------

NO_OWN_DIVISIBILITY_CHECK = (
    "no ValueError of your own when num_heads does not divide D (any numpy error that "
    "happens instead does not count): check `D % num_heads != 0` first and "
    "`raise ValueError(...)`"
)
NO_OWN_POSITIVE_CHECK = (
    "no ValueError of your own when num_heads < 1 (numpy's errors, or a division by "
    "zero, do not count): check `num_heads < 1` first, before dividing by it, and "
    "`raise ValueError(...)`"
)
RAISE_NOT_ASSERT = (
    "use `raise ValueError(...)` for a bad head count, not `assert` (an assert raises "
    "AssertionError, and vanishes under python -O)"
)
OWN_CHECK_REFUSES = (
    "your multi_head_attention raised its own ValueError for a head count that is "
    "valid (num_heads >= 1 divides D): check the condition, with D taken from "
    "inputs.shape"
)
MODIFIED_IN_PLACE = (
    "an argument was modified in place; compute into new arrays instead (e.g. "
    "`x = x - m` or `scores = Q @ K_t * scale`, not `x -= m` or `Q *= scale`)"
)
RETURNS_PAIR = (
    "your scaled_dot_product_attention returns (output, weights), as PyTorch's and "
    "TensorFlow's attention layers do: return only the output array"
)
# Results of a dtype the kit cannot compare, by dtype name without its width.
DTYPE_CAUSES = {
    "float": "half precision (float16) keeps about 3 significant digits, too few for these "
    "checks: compute and return float64 (or float32)",
    "int": "integer results: something made the arrays integers (e.g. np.zeros(shape, "
    "dtype=int), or a floor division `//`); compute and return float64 arrays",
    "uint": "integer results: something made the arrays integers; compute and return "
    "float64 arrays",
    "bool": "boolean results (a comparison where a value was meant?): return float64 "
    "arrays",
}
FLOAT32_SIZED_32 = (
    "your result is float32 and misses by about what float32 rounding gives (float32 "
    "keeps about 7 significant digits): compute in float64, or keep the float32 "
    "computation stable (subtract each row's maximum before exp)"
)
FLOAT32_SIZED_64 = (
    "your result is float64 but misses by about what float32 rounding gives: if you "
    "compute in float32, return the float32 arrays (they are judged with float32's "
    "tolerance) or compute in float64 throughout"
)
EXAMPLE_SIZES = (
    "a reshape asks for the assignment's example sizes (B=1, L=5, D=32, 4 heads, head_dim "
    "8) on other inputs: these sizes are hard-coded to the assignment's example; take B, L, "
    "D from inputs.shape and head_dim = D // num_heads"
)
RESHAPE_MISFIT = (
    "a reshape in multi_head_attention (or a function it calls) does not fit the array it "
    "is given: take B, L, D from inputs.shape and head_dim = D // num_heads rather than "
    "fixed numbers"
)
RANK_ONLY = (
    "right for inputs with one leading batch axis (3-D) but not with two (4-D, as "
    "multi-head passes (B, h, L, head_dim)): avoid fixed axis numbers; use axis=-1 and "
    "np.swapaxes(K, -1, -2)"
)
SOFTMAX_FIXED_AXIS = (
    "your softmax's axis is right for 3-D inputs but not for 4-D ones (B, h, Lq, Lk), "
    "where it normalises over the queries: a fixed axis (axis=1 on a per-batch slice, or "
    "axis=2) counts from the front; use axis=-1"
)
STEP_QKV = (
    "your create_qkv already fails on this case's inputs (it raises, or its Q, K, V "
    "differ from the right ones), so it is the first wrong step: fix create_qkv first"
)
STEP_SDPA = (
    "your create_qkv is right on this case's inputs, but your "
    "scaled_dot_product_attention is wrong on the per-head arrays (B, h, L, head_dim) a "
    "correct split gives them: fix it on 4-D inputs first"
)
STEP_SPLIT_MERGE = (
    "your create_qkv is right on this case's inputs and your attention is right on the "
    "per-head arrays a correct split gives, so the heads are split or merged wrongly (or "
    "the scale passed for each head is wrong)"
)
# Where localisation found a known cause: said next to the items it affects.
WHERE_QKV = "in your create_qkv, which gives wrong Q, K, V on these inputs"
WHERE_SDPA = "in your scaled_dot_product_attention, on the per-head arrays"
SOFTMAX_COLUMNS = "softmax_columns"  # the catalogue's key for a softmax over axis -2

# Exceptions that point at one classic mistake: (functions, exception types, a pattern
# of numpy's message, a pattern of the student's line (or ""), explanation).
ATTENTION = frozenset({SDPA, MHA})
RaisedPattern = tuple[frozenset[str], frozenset[str], str, str, str]
SOFTMAX_KEEPDIMS = (
    "the softmax's max or sum was taken without keepdims=True, so it does not line up "
    "with the scores (shapes that cannot be broadcast, or each weight divided by another "
    "row's total): use x.max(axis=-1, keepdims=True) and e.sum(axis=-1, keepdims=True)"
)
TORCH_TRANSPOSE = (
    "`x.transpose(-2, -1)` (or (-1, -2)) is PyTorch's swap of two axes; numpy's transpose "
    "wants the whole order of axes, so it fails on 3-D and 4-D arrays (and on a 2-D array "
    "(-2, -1) transposes nothing): use np.swapaxes(x, -1, -2)"
)
RAISED_PATTERNS: tuple[RaisedPattern, ...] = (
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"unexpected keyword argument 'perm'",
        "",
        "`np.transpose(x, perm=...)` is TensorFlow's spelling; numpy's is "
        "np.transpose(x, axes=...) (or np.swapaxes to swap two axes)",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"(keyword argument|invalid keyword argument).*'(dim|keepdim)'",
        "",
        "`dim=` and `keepdim=` are PyTorch's names; numpy's functions take `axis=` and "
        "`keepdims=True`",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError", "ValueError"}),
        r"view\(\) takes|as a data type|sub-type of ndarray",
        r"\.view\(",
        "`x.view(...)` reshapes in PyTorch, but in numpy `view` reinterprets the dtype: "
        "use x.reshape(...)",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"AttributeError"}),
        r"has no attribute '(permute|contiguous|bmm|masked_fill|unsqueeze|softmax)'",
        "",
        "that method is PyTorch's, not numpy's: use np.transpose / np.swapaxes, "
        "np.matmul, np.expand_dims, and write the softmax yourself",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"'int' object is not callable",
        r"\.size\(",
        "`x.size(...)` is PyTorch's; in numpy `x.size` is the number of elements (a "
        "number, not a method): use x.shape[...]",
    ),
    (
        ATTENTION,
        frozenset({"ValueError"}),
        r"axes don't match array",
        r"\.transpose\(\s*-?\d+\s*,\s*-?\d+\s*\)",
        TORCH_TRANSPOSE,
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"'float' object cannot be interpreted as an integer",
        "",
        "a size computed with `/` is a float (e.g. `head_dim = D / num_heads`), which "
        "reshape refuses: use `//` for sizes",
    ),
    (
        frozenset({QKV}),
        frozenset({"ValueError"}),
        r"matmul|not aligned|remapped shapes",
        "",
        "the matrix product does not line up: multiply in the order inputs @ weights_q "
        "((B, L, D) @ (D, D)), not weights_q @ inputs",
    ),
    (
        ATTENTION,
        frozenset({"ValueError"}),
        r"axes don't match array",
        "",
        "a transpose with fixed axes (e.g. K.transpose(0, 2, 1)) only fits arrays with "
        "that many axes; use np.swapaxes(K, -1, -2), which works for 3-D and 4-D inputs",
    ),
    (
        ATTENTION,
        frozenset({"ValueError"}),
        r"values to unpack",
        "",
        "a shape was unpacked into a fixed number of names (e.g. `B, L, d = Q.shape`), "
        "which fails for 4-D inputs; write it for any number of leading axes "
        "(Q.shape[-1], np.swapaxes(K, -1, -2), axis=-1)",
    ),
    (
        frozenset({SDPA}),
        frozenset({"ValueError"}),
        r"matmul|not aligned|remapped shapes",
        "",
        "Q @ K^T does not line up: `K.T` on a batched array reverses every axis (and "
        "np.dot is not batched); use Q @ np.swapaxes(K, -1, -2)",
    ),
    (
        frozenset({SDPA}),
        frozenset({"ValueError"}),
        r"could not be broadcast",
        "",
        SOFTMAX_KEEPDIMS,
    ),
)
RESHAPE = re.compile(r"cannot reshape array of size (\d+) into shape \(([-\d, ]*)\)")


def read_exception(
    case: Case, raised: Raised, source_lines: Sequence[str] = ()
) -> str | None:
    """A likely cause for an exception, read from its type, numpy's message and the
    student's own line; None when nothing points at one mistake."""
    line = ""
    if raised.line is not None and 0 < raised.line <= len(source_lines):
        line = source_lines[raised.line - 1]
    for functions, kinds, message, code_line, explanation in RAISED_PATTERNS:
        if (
            case.function in functions
            and raised.type in kinds
            and re.search(message, raised.message)
            and (not code_line or re.search(code_line, line))
        ):
            return explanation
    if case.function == MHA and raised.type == "ValueError" and raised.raised_here:
        return OWN_CHECK_REFUSES
    reshape = RESHAPE.search(raised.message)
    if case.function == MHA and raised.type == "ValueError" and reshape:
        return _read_reshape(case, reshape)
    return None


def _read_reshape(case: Case, found: re.Match[str]) -> str:
    """A reshape that did not fit: sized for the assignment's example, or just misfit."""
    dims = [int(d) for d in found[2].replace(" ", "").split(",") if d]
    inputs = case.args[0]
    known = [d for d in dims if d != -1]
    example_size = int(np.prod(EXAMPLE_SHAPE))
    sized_for_example = int(np.prod(known)) == example_size or dims[:2] == [1, 5]
    if (
        isinstance(inputs, np.ndarray)
        and inputs.shape != EXAMPLE_SHAPE
        and sized_for_example
    ):
        return EXAMPLE_SIZES
    return RESHAPE_MISFIT


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
        problem, has_message = _raised_summary(
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
    got, has_message = _raised_summary(subject, outcome, case.public)
    if outcome.type == "NotImplementedError":
        return Verdict(False, got, raised=outcome)
    if has_message and case.public:
        detail += f"; {outcome.type}: {code(outcome.message)}"
    if outcome.type == case.raises:
        problem = (
            f"{subject} raised {case.raises} for a bad head count, but from inside a call "
            f"(numpy's, say){_where(outcome) if case.public else ''}, not from a check "
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
                False, f"`{name}` returned {_a_type(meta.not_array)}, not a numpy array"
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
            problem, detail = _shape_problem(case, meta.shape or (), want.shape)
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
            if not _finite(_as64(got)).all():  # NaN or inf: said without the values
                return _value_problem(case, label, got, want, reference.magnitude) or (
                    Verdict(False, returned=True)
                )
            if matcher(index, _as64(got), str(got.dtype)):
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
    values = _as64(got)
    finite = _finite(values)
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
            + _pattern(case, wrong)
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


# --- localisation by experiment (multi-head attention) ----------------------------------

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
        and _finite(_as64(v)).all()
        and (abs(_as64(v) - r) <= allowance(str(v.dtype), r, magnitude)).all()
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


# --- a look across cases ----------------------------------------------------------------


def review(entries: Sequence[tuple[Case, Verdict]]) -> list[Verdict]:
    """Causes that need several cases: where two known mistakes give the same output, the
    one the submission's other public cases show; attention right on every 3-D case and wrong
    on every 4-D one (fixed axis numbers; a softmax's fixed axis)."""

    def rank(case: Case) -> int:
        first = case.args[0]
        return first.ndim if isinstance(first, np.ndarray) else 0

    sdpa = [(c, v) for c, v in entries if c.function == SDPA and c.check != "shapes"]
    three = [v for c, v in sdpa if rank(c) == 3]
    four = [v for c, v in sdpa if rank(c) == 4]
    rank_only = (
        bool(three and four)
        and all(v.passed for v in three)
        and not any(v.passed for v in four)
    )
    counts: dict[tuple[str, str], int] = {}  # public cases only: the self-check agrees
    for case, found in entries:
        if case.public and found.key is not None and found.diagnosis is not None:
            pair = (found.key, found.diagnosis)
            counts[pair] = counts.get(pair, 0) + 1
    reviewed = []
    for case, found in entries:
        if len(found.matched) > 1:  # outputs two mistakes share: the commoner one
            key, text = max(found.matched, key=lambda pair: counts.get(pair, 0))
            if found.step is None:
                found = replace(found, diagnosis=text, key=key)
        if rank_only and not found.passed and found.key == SOFTMAX_COLUMNS:
            found = replace(found, diagnosis=SOFTMAX_FIXED_AXIS, key=None)
        elif (
            rank_only
            and not found.passed
            and case.function == SDPA
            and found.diagnosis is None
            and rank(case) == 4
            and (found.returned or found.raised)
        ):
            found = replace(found, diagnosis=RANK_ONLY)
        reviewed.append(found)
    return reviewed


# --- calling a function in this process (the self-check, the Otter export) ---------------


class CallTimeout(BaseException):
    """Raised by the alarm (not an Exception: student code cannot swallow it by accident)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` where POSIX alarms exist (else no limit)."""
    usable = hasattr(signal, "setitimer") and (
        threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: types.FrameType | None) -> None:
        raise CallTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _raise_statement(code_object: types.CodeType, offset: int) -> bool:
    """Whether the instruction at ``offset`` is a ``raise``."""
    instructions = dis.get_instructions(code_object)
    return any(i.offset == offset and i.opname == "RAISE_VARARGS" for i in instructions)


def exception_facts(exc: BaseException, student_file: str) -> Raised:
    """``Raised`` for an exception caught in this process, as the grader's child reports
    it: the innermost place in ``student_file`` it passed, and whether a ``raise`` there
    raised it."""
    frames = list(traceback.walk_tb(exc.__traceback__))
    mine = [
        (index, frame, line)
        for index, (frame, line) in enumerate(frames)
        if frame.f_code.co_filename == student_file
    ]
    index, frame, line = mine[-1] if mine else (-1, None, None)
    raised_here = (
        frame is not None
        and index == len(frames) - 1
        and _raise_statement(frame.f_code, frame.f_lasti)
    )
    if isinstance(exc, SyntaxError) and exc.filename == student_file:
        line = exc.lineno
    return Raised(
        type=type(exc).__name__,
        message=" ".join(str(exc).split())[:300],
        line=line,
        module=exc.name if isinstance(exc, ModuleNotFoundError) else None,
        function=frame.f_code.co_name if frame is not None else None,
        raised_here=raised_here,
    )


def returned_facts(result: object, modified: tuple[int, ...]) -> Returned:
    """``Returned`` for a value returned in this process (plain ndarrays, numeric only)."""
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    container = (
        "tuple"
        if isinstance(result, tuple)
        else "list" if isinstance(result, list) else "single"
    )
    metas: list[Meta] = []
    values: list[FloatArray | None] = []
    for item in items[:8]:
        if not isinstance(item, np.ndarray):
            metas.append(Meta(None, None, not_array=type(item).__name__))
            values.append(None)
            continue
        array: FloatArray = np.ndarray.view(item, np.ndarray)
        dtype = array.dtype.name  # "float16", "object", "str160": no markup in it
        accepted = dtype in TOLERANCES
        metas.append(Meta(dtype, tuple(array.shape), withheld=not accepted))
        values.append(np.ndarray.copy(array) if accepted else None)
    return Returned(container, len(items), tuple(metas), tuple(values), modified)


def call_in_process(
    function: Callable[..., object],
    args: Sequence[Argument],
    student_file: str,
    seconds: float,
) -> tuple[Outcome, str]:
    """Call a student function here, on fresh copies of ``args``, within ``seconds``:
    the outcome, and what it printed."""
    fresh = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in fresh]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            with time_limit(seconds), np.errstate(all="ignore"):
                result = function(*fresh)
    except CallTimeout:
        name = getattr(function, "__name__", "the function")
        return (
            Failed(
                "timeout",
                f"{name} did not return within {seconds:g} s (endless loop or far too slow)",
            ),
            printed.getvalue(),
        )
    except BaseException as exc:  # noqa: B036 - whatever student code raises is judged
        return exception_facts(exc, student_file), printed.getvalue()
    modified = tuple(
        index
        for index, (old, new) in enumerate(zip(before, fresh))
        if isinstance(old, np.ndarray)
        and not (
            isinstance(new, np.ndarray)
            and new.shape == old.shape
            and ((new == old) | ((new != new) & (old != old))).all()
        )
    )
    try:
        return returned_facts(result, modified), printed.getvalue()
    except BaseException as exc:  # noqa: B036 - a hostile __len__ or __iter__
        return exception_facts(exc, student_file), printed.getvalue()


def stdlib_or_numpy(module: str) -> bool:
    """Whether ``module`` is numpy's or the standard library's (what the grader offers)."""
    top = module.split(".")[0]
    return top == "numpy" or top in sys.stdlib_module_names


class _OnlyNumpyAndStdlib(importlib.abc.MetaPathFinder):
    """Refuses every other import, as the grader's sandbox does not have them."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if stdlib_or_numpy(fullname):
            return None
        raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)


@contextlib.contextmanager
def only_numpy_and_stdlib() -> Iterator[None]:
    """Within the block, importing anything but numpy and the standard library fails
    with ModuleNotFoundError (modules already imported stay importable)."""
    finder = _OnlyNumpyAndStdlib()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


# --- the deliveries' loop over cases ----------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """One case judged in this process: its verdict and what the call printed."""

    case: Case
    verdict: Verdict
    printed: str


def check_all(
    cases: Sequence[Case],
    find: Callable[[str], Callable[..., object] | None],
    student_file: str,
    references: dict[str, Reference],
    source_lines: Sequence[str] = (),
    seconds: float = 10.0,
    matchers: dict[str, Matcher] | None = None,
) -> list[Checked]:
    """Call and judge every case in this process, as the grader does in its child:
    each call with fresh inputs and a time limit (a function that hangs is not called
    again), failing multi-head cases localised, then the look across cases.

    ``find`` gives the student's function by canonical name (None when missing).
    """
    hung: dict[str, Failed] = {}
    printed: list[str] = []

    def call(function: str, args: list[Argument], nbytes: int) -> Outcome:
        target = find(function)
        if target is None:
            return Failed("missing", missing_function(function))
        if function in hung:
            return hung[function]
        with only_numpy_and_stdlib():
            outcome, output = call_in_process(target, args, student_file, seconds)
        printed.append(output)
        if isinstance(outcome, Failed) and outcome.kind == "timeout":
            outcome = Failed(
                "timeout", f"{outcome.message}; its other cases were not run again"
            )
            hung[function] = outcome
        return outcome

    judged: list[tuple[Case, Verdict, str]] = []
    for case in cases:
        printed.clear()
        outcome = call(case.function, list(case.args), case.expected_bytes)
        shown = "".join(printed)
        reference = references.get(case.id, NoReference())
        matcher = (matchers or {}).get(case.id)
        found = verdict(case, outcome, reference, source_lines, matcher)
        if case.function == MHA and not found.passed:
            found = localise(case, found, reference, call, source_lines)
        judged.append((case, found, shown))
    reviewed = review([(case, found) for case, found, _ in judged])
    return [
        Checked(case, found, shown) for (case, _, shown), found in zip(judged, reviewed)
    ]


# --- the Otter export's hidden cases: digests instead of expected values -----------------


def cell_digest(
    values: list[float], offsets: list[float], width: float, salt: str
) -> str:
    """SHA-256 of the cells that ``values`` (shifted by ``offsets``) fall in."""
    digest = hashlib.sha256(salt.encode())
    for value, offset in zip(values, offsets):
        digest.update(struct.pack("<q", math.floor((value + offset) / width)))
    return digest.hexdigest()


def centring_offsets(values: list[float], width: float) -> list[float]:
    """Offsets that move each value to the centre of its cell (used when exporting)."""
    return [(math.floor(v / width) + 0.5) * width - v for v in values]


def cell_width(dtype: str, want: FloatArray, magnitude: float) -> float:
    """Twice the largest allowance for ``want`` (one cell per value: within half a cell
    of the expected value passes)."""
    return 2.0 * float(allowance(dtype, want, magnitude).max())
