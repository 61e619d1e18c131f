"""Turn per-case results into rubric points: partial credit and SPEC's two gates."""

from __future__ import annotations

from dataclasses import dataclass

from autograder.cases.plugin import CaseResult
from autograder.score.rubric import KNOWN_ITEMS, Rubric

# Every item that runs the student's functions (typing and formatting only read the file).
CORRECTNESS_ITEMS = frozenset(KNOWN_ITEMS) - {"typing", "formatting"}


@dataclass(frozen=True)
class ItemScore:
    """Points for one rubric item, with the cases behind them."""

    id: str
    title: str
    score: float
    max_score: float
    passed: int
    total: int
    results: tuple[CaseResult, ...]
    gate_note: str = ""


def score_items(rubric: Rubric, results: list[CaseResult]) -> list[ItemScore]:
    """Points in proportion to cases passed, then the gates of SPEC.

    ``mha.bad_heads`` counts only if multi_head_attention returned arrays for some valid
    input; ``typing`` counts only if some correctness points were earned.
    """
    mha_returns = any(
        r.returned for r in results if r.item in ("mha.values", "mha.shapes")
    )
    scores: list[ItemScore] = []
    for item in rubric.items:
        mine = tuple(r for r in results if r.item == item.id)
        passed = sum(r.passed for r in mine)
        fraction = passed / len(mine) if mine else 0.0
        note = ""
        if item.id == "mha.bad_heads" and passed and not mha_returns:
            fraction, note = 0.0, (
                "not counted: multi_head_attention never returned a result for valid "
                "inputs, and a function that always raises earns nothing here"
            )
        scores.append(
            ItemScore(
                item.id,
                item.title,
                round(item.points * fraction, 2),
                item.points,
                passed,
                len(mine),
                mine,
                note,
            )
        )
    correctness = sum(s.score for s in scores if s.id in CORRECTNESS_ITEMS)
    return [
        (
            _gated(
                s, "not counted: the typing point needs some correctness points first"
            )
            if s.id == "typing" and s.score and correctness <= 0
            else s
        )
        for s in scores
    ]


def _gated(score: ItemScore, note: str) -> ItemScore:
    return ItemScore(
        score.id,
        score.title,
        0.0,
        score.max_score,
        score.passed,
        score.total,
        score.results,
        note,
    )
