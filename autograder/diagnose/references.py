"""References replayed from the catalogue: what the judge matches a wrong answer against.

``reference(case)`` gives the judge (``autograder/judge/``) what it matches a wrong answer
against: the catalogue's misconceptions replayed on the case's inputs (single ones first,
then pairs, computed only as far as needed), the case's float32 rounding scale, and for
multi-head cases the right intermediate results. The handout and the Otter export carry the
same references for the public cases as data (``autograder/deliver/hints.py``). Replays run only
here, never in the child, and every explanation is a fixed sentence.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from autograder.contract.functions import MHA, QKV, SDPA, FloatArray
from autograder.diagnose.catalogue import VARIANTS, Variant
from autograder.diagnose.replay import (
    Mistake,
    attention,
    projections,
    replay,
    split_heads,
)
from autograder.judge.case import Case
from autograder.judge.references import Known, Steps

RIGHT = Mistake()


def _same(first: Sequence[FloatArray], second: Sequence[FloatArray]) -> bool:
    return len(first) == len(second) and all(
        a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
        for a, b in zip(first, second)
    )


def _known(
    variant: Variant, arrays: Sequence[FloatArray], key: str | None = None
) -> Known:
    return Known(
        key or variant.key,
        variant.explanation,
        tuple(arrays),
        tuple(a.shape for a in arrays),
    )


def _magnitude(case: Case) -> float:
    """The case's float32 rounding scale (``judge.references.Reference.magnitude``)."""
    arrays = [abs(a) for a in case.args if isinstance(a, np.ndarray)]
    if case.function == QKV:
        inputs, weights = arrays[0], arrays[1:4]
        return max(float((inputs @ w).max()) for w in weights)
    if case.function == SDPA:
        q, k, v = arrays[:3]
        scores = np.matmul(q, np.swapaxes(k, -1, -2)) * abs(float(case.args[3]))
        return float(v.max()) * (1.0 + float(scores.max()))
    heads = int(case.args[4])
    inputs = arrays[0]
    if heads < 1 or inputs.shape[-1] % heads:
        return 0.0
    q, k, v = (split_heads(inputs @ w, heads) for w in arrays[1:4])
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) / math.sqrt(q.shape[-1])
    return float(v.max()) * (1.0 + float(scores.max()))


@dataclass
class Replay:
    """``judge.references.Reference`` for one case, computed from the catalogue on demand."""

    case: Case
    _singles: list[Known] | None = field(default=None, repr=False)

    @cached_property
    def magnitude(self) -> float:
        """The case's float32 rounding scale."""
        return _magnitude(self.case) if self.case.raises is None else 0.0

    def _variants(self) -> list[Variant]:
        return [v for v in VARIANTS if self.case.function in v.functions]

    def singles(self) -> list[Known]:
        """Each misconception's output on the case where it differs from the right one."""
        if self._singles is None:
            self._singles = []
            for variant in self._variants():
                for mistake in variant.mistakes:
                    arrays = replay(self.case.function, self.case.args, mistake)
                    if arrays is not None and not _same(arrays, self.case.expected):
                        self._singles.append(_known(variant, arrays))
        return self._singles

    def pairs(self) -> Iterator[Known]:
        """Two misconceptions at once (steps that do not overlap), lazily."""
        variants = self._variants()
        for index, first in enumerate(variants):
            for second in variants[index + 1 :]:
                both = first.mistakes[0].combined(second.mistakes[0])
                if both is None:
                    continue
                arrays = replay(self.case.function, self.case.args, both)
                if arrays is None or _same(arrays, self.case.expected):
                    continue
                yield Known(
                    f"{first.key}+{second.key}",
                    f"two mistakes at once: {first.explanation}; and "
                    f"{second.explanation}",
                    tuple(arrays),
                    tuple(a.shape for a in arrays),
                )

    def known(self) -> Iterator[Known]:
        """Single misconceptions, then (for value cases) pairs."""
        if self.case.raises is not None:
            return
        yield from self.singles()
        if self.case.check != "shapes":
            yield from self.pairs()

    @cached_property
    def _steps(self) -> Steps | None:
        case = self.case
        if case.function != MHA or case.raises is not None:
            return None
        inputs, weights, heads = case.args[0], case.args[1:4], int(case.args[4])
        assert isinstance(inputs, np.ndarray)
        qkv = projections(inputs, weights, RIGHT)  # type: ignore[arg-type]
        qh, kh, vh = (split_heads(x, heads) for x in qkv)  # (B, h, L, hd) each
        per_head = (qh, kh, vh)
        scale = 1.0 / math.sqrt(qh.shape[-1])
        attended = attention(qh, kh, vh, scale, RIGHT)  # (B, h, L, hd)
        qkv_known = [
            _known(variant, arrays)
            for variant in VARIANTS
            if QKV in variant.functions
            for mistake in variant.mistakes
            if (arrays := replay(QKV, case.args[:4], mistake)) is not None
            and not _same(arrays, qkv)
        ]
        attention_known = [
            _known(variant, arrays)
            for variant in VARIANTS
            if SDPA in variant.functions
            for mistake in variant.mistakes
            if (arrays := replay(SDPA, [*per_head, scale], mistake)) is not None
            and not _same(arrays, [attended])
        ]
        return Steps(
            qkv, tuple(qkv_known), per_head, scale, attended, tuple(attention_known)
        )

    def steps(self) -> Steps | None:
        """The right intermediate results of a multi-head case, and the helpers' known
        wrong answers on them."""
        return self._steps


_references: dict[int, tuple[Case, Replay]] = {}


def reference(case: Case) -> Replay:
    """The case's reference, cached per case in this worker."""
    hit = _references.get(id(case))
    if hit is not None and hit[0] is case:
        return hit[1]
    if len(_references) > 2_000:
        _references.clear()
    made = Replay(case)
    _references[id(case)] = (case, made)
    return made
