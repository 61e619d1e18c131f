"""Comparison: tolerances (float32's derived per case), finite values read without numpy
functions a submission could replace, and matching an output against a known wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..contract.functions import FloatArray
from .references import Known

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


def is_finite(values: FloatArray) -> npt.NDArray[np.bool_]:
    """Finite entries, without numpy functions a submission in the same process could
    replace (``x - x`` is NaN exactly for NaN and inf)."""
    finite: npt.NDArray[np.bool_] = (values - values) == 0
    return finite


def as64(values: FloatArray) -> FloatArray:
    return np.ndarray.astype(values, "float64")


class Matcher(Protocol):
    """An outside judgement of one returned array's values (the Otter export's hidden
    cells): True when they pass."""

    def __call__(self, index: int, values: FloatArray, dtype: str) -> bool: ...


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
        got64 = as64(got)
        finite = is_finite(got64)
        if not ((finite == is_finite(want)).all()):
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
