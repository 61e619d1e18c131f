"""A look across a submission's cases: causes that need more than one case to tell apart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..contract.functions import SDPA
from .case import Case
from .causes import RANK_ONLY, SOFTMAX_COLUMNS, SOFTMAX_FIXED_AXIS
from .verdict import Verdict


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
