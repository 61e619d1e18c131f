"""Name the likely mistake, in the grader: references replayed from the catalogue, evidence
gathered through the child, and the look across a submission's cases.

``reference(case)`` gives the judge (``autograder/judge.py``) what it matches a wrong answer
against: the catalogue's misconceptions replayed on the case's inputs (single ones first,
then pairs, computed only as far as needed), the case's float32 rounding scale, and for
multi-head cases the right intermediate results. The handout and the Otter export carry the
same references for the public cases as data (``autograder/hints.py``). Replays run only
here, never in the child, and every explanation is a fixed sentence.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.diagnose.catalogue import (
    VARIANTS,
    Mistake,
    Variant,
    attention,
    projections,
    replay,
    split_heads,
)
from autograder.judge import verdict as judge
from autograder.judge.verdict import MHA, QKV, SDPA, Case, FloatArray, Known

if TYPE_CHECKING:
    from autograder.cases.plugin import CaseResult
    from autograder.confine.remote import StudentModule

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
    """The case's float32 rounding scale (``judge.Reference.magnitude``)."""
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
    """``judge.Reference`` for one case, computed from the catalogue on demand."""

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
    def _steps(self) -> judge.Steps | None:
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
        return judge.Steps(
            qkv, tuple(qkv_known), per_head, scale, attended, tuple(attention_known)
        )

    def steps(self) -> judge.Steps | None:
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


def localise(
    cases: Sequence[Case],
    results: list[CaseResult],
    module: StudentModule,
    source: str = "",
) -> list[CaseResult]:
    """Failing multi-head results with their first wrong step found by experiment: the
    student's own helpers called in the child (``judge.localise``), within the
    submission's time budget (``StudentModule.call`` enforces it)."""
    by_id = {case.id: case for case in cases}
    lines = source.splitlines()

    def call(function: str, args: list[judge.Argument], nbytes: int) -> judge.Outcome:
        if module.process is None:
            # A new child would import the file again (and run what it does at import):
            # no evidence rather than that.
            return judge.Failed("stopped", "no child is running")
        return module.call(function, args, nbytes)

    # An evidence call that hangs or crashes says nothing about the graded cases: the
    # submission's status stays what grading found.
    hung, crashes = dict(module.hung), dict(module.crashes)
    localised = []
    try:
        for result in results:
            case = by_id.get(result.case_id)
            if case is not None and case.function == MHA and not result.passed:
                found = judge.localise(
                    case, result.verdict, reference(case), call, lines
                )
                result = replace(result, verdict=found)
            localised.append(result)
    finally:
        module.hung, module.crashes = hung, crashes
    return localised


def review(cases: Sequence[Case], results: list[CaseResult]) -> list[CaseResult]:
    """``judge.review`` over a submission's results (causes that need several cases)."""
    by_id = {case.id: case for case in cases}
    known = [
        (i, by_id[r.case_id], r) for i, r in enumerate(results) if r.case_id in by_id
    ]
    verdicts = judge.review([(case, r.verdict) for _, case, r in known])
    reviewed: list[Any] = list(results)
    for (index, _, result), found in zip(known, verdicts):
        reviewed[index] = replace(result, verdict=found)
    return reviewed
