"""How a wrong result is described: shapes in the handout's symbols, where wrong values sit,
the type of something that is not an array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..contract.functions import MHA, SDPA
from ..contract.words import OWN_CLASS, code
from .case import Case


def shape_text(shape: Sequence[int] | None) -> str:
    """A shape as NumPy prints it: (2, 5, 8), (3,)."""
    return str(tuple(int(d) for d in shape or ()))


def a_type(name: str) -> str:
    """ "a `list`", or "an object of its own class"."""
    return "an " + OWN_CLASS if name == OWN_CLASS else f"a {code(name)}"


def _axis_names(case: Case, rank: int) -> tuple[str, ...]:
    """What each axis of the expected result means, in the handout's symbols."""
    if case.function == SDPA:
        leading = tuple(f"batch axis {i} (as in Q)" for i in range(rank - 2))
        return leading + ("Lq (Q's rows)", "dv (V's last axis)")
    return ("B (batch)", "L (sequence length)", "D (model width)")


def shape_problem(
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


def wrong_pattern(case: Case, wrong: npt.NDArray[np.bool_]) -> str:
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
