"""The class's numbers after a batch: statistics, each rubric item's pass rates, the most
common mistakes (diagnosed, or symptoms folded from failure messages) and who could not be
fully graded; and how those numbers are written.

Pass rates: an item's *full points* rate is the share of submissions that earned all of
its points (for a 0-point item such as formatting: passed all of its checks); its *mean
points* rate is the class's mean share of its points (0-point items: of its checks passed).
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from autograder.report.feedback import points
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric

BINS = 10  # score histogram bins between 0 and the maximum score

_FUNCTION_OF_PREFIX = {
    "qkv": "create_qkv",
    "sdpa": "scaled_dot_product_attention",
    "mha": "multi_head_attention",
}

# compare.py's failure messages carry case data (shapes, counts, indices); these patterns
# fold them into one symptom each, so the class table counts kinds of failure.
_SYMPTOMS: tuple[tuple[str, str], ...] = (
    (r"is not implemented yet", "not implemented (raises NotImplementedError)"),
    (r"contains NaN or inf", "returns NaN or inf"),
    (r"values differ", "wrong values that no known mistake explains"),
    (r"has the wrong shape|has shape", "wrong shape that no known mistake explains"),
    (r"should raise ValueError", "no ValueError for a bad head count"),
    (r"ValueError was expected; instead", "another exception for a bad head count"),
    (r"modified its argument", "modifies an argument in place"),
    (r"should return a tuple", "does not return a tuple of 3 arrays"),
    (r"should return one numpy array", "returns a container instead of one array"),
    (r"not a numpy array|array of dtype", "returns something other than a float array"),
    (r"did not return within", "did not return in time (endless loop or far too slow)"),
    (r"total time budget", "ran out of the submission's total time budget"),
    (r"^while running \S+, (.*)", r"crashed: \1"),
    (r"raised (\w+)", r"raises \1"),
)


@dataclass(frozen=True)
class ItemRate:
    """How the class did on one rubric item."""

    id: str
    title: str
    points: float
    full: int  # submissions with the item's full points (0-point item: all checks)
    count: int
    mean_share: float  # mean share of the item's points (0-point item: of checks)
    checks_passed: int
    checks_total: int

    @property
    def full_share(self) -> float:
        """Share of submissions with full points, 0..1."""
        return self.full / self.count if self.count else 0.0


@dataclass(frozen=True)
class MistakeCount:
    """One mistake (named by the diagnosis) or symptom, and who showed it."""

    text: str
    diagnosed: bool
    submissions: tuple[str, ...]
    items: tuple[str, ...]


@dataclass(frozen=True)
class ClassSummary:
    """The class's numbers, computed once for the page, the charts and the terminal."""

    count: int
    max_score: float
    scores: tuple[float, ...]
    bins: tuple[tuple[float, float, int], ...]  # (low, high, submissions)
    items: tuple[ItemRate, ...]
    mistakes: tuple[MistakeCount, ...]
    trouble: tuple[tuple[str, str, str], ...]  # (submission, status, message)

    @property
    def mean(self) -> float | None:
        """Mean score, None for an empty class."""
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def median(self) -> float | None:
        """Median score, None for an empty class."""
        return statistics.median(self.scores) if self.scores else None

    @property
    def stdev(self) -> float | None:
        """Population standard deviation (the class is the whole population)."""
        return statistics.pstdev(self.scores) if self.scores else None


def summarise(results: Sequence[GradeResult], rubric: Rubric) -> ClassSummary:
    """Statistics, item pass rates, common mistakes and trouble for ``results``."""
    scores = tuple(r.score for r in results)
    return ClassSummary(
        count=len(results),
        max_score=rubric.max_score,
        scores=scores,
        bins=_bins(scores, rubric.max_score),
        items=tuple(_item_rates(results, rubric)),
        mistakes=tuple(_mistakes(results, rubric)),
        trouble=tuple(
            (
                r.submission,
                r.status,
                one_line(r.status_message or "; ".join(r.internal_errors)),
            )
            for r in results
            if r.status != "ok" or r.internal_errors
        ),
    )


def _bins(
    scores: Sequence[float], max_score: float
) -> tuple[tuple[float, float, int], ...]:
    width = max_score / BINS if max_score > 0 else 1.0
    counts = [0] * BINS
    for score in scores:
        counts[min(max(int(score / width + 1e-9), 0), BINS - 1)] += 1
    return tuple((i * width, (i + 1) * width, n) for i, n in enumerate(counts))


def _item_rates(results: Sequence[GradeResult], rubric: Rubric) -> list[ItemRate]:
    rates = []
    for item in rubric.items:
        scored = [s for r in results for s in r.items if s.id == item.id]
        if item.points > 0:
            shares = [s.score / item.points for s in scored]
            full = sum(s.score >= item.points - 1e-9 for s in scored)
        else:
            shares = [s.passed / s.total if s.total else 0.0 for s in scored]
            full = sum(s.total > 0 and s.passed == s.total for s in scored)
        rates.append(
            ItemRate(
                id=item.id,
                title=item.title,
                points=item.points,
                full=full,
                count=len(results),
                mean_share=statistics.fmean(shares) if shares else 0.0,
                checks_passed=sum(s.passed for s in scored),
                checks_total=sum(s.total for s in scored),
            )
        )
    return rates


def symptom(item: str, message: str) -> str:
    """A failure message without its case data: what kind of failure, in which function."""
    function = _FUNCTION_OF_PREFIX.get(item.split(".")[0])
    text = _known_symptom(message)
    if text is None:  # unknown wording: its first clause, without numbers or asides
        text = message.split(". Likely cause")[0].split(";")[0]
        text = re.sub(r"^`\w+`:? ", "", text)
        text = re.sub(r"\s*\([^()]*\)", "", text)
        text = re.sub(r"\d+(\.\d+)?", "N", text).strip()
    return f"`{function}`: {text}" if function else f"{item}: {text}"


def _known_symptom(message: str) -> str | None:
    for pattern, label in _SYMPTOMS:
        found = re.search(pattern, message)
        if found:
            return found.expand(label)
    return None


def _submission_wide(result: GradeResult) -> str | None:
    """The failure shared by every function's cases (a file that would not import, say).

    It is the submission's status message and is listed with the troubled submissions,
    so it is not counted again as a mistake of each function.
    """
    if result.status == "ok":
        return None
    failed: dict[str, set[str]] = defaultdict(set)
    for item in result.items:
        prefix = item.id.split(".")[0]
        if prefix in _FUNCTION_OF_PREFIX:
            failed[prefix] |= {c.message for c in item.results if not c.passed}
    everywhere = [result.status_message in failed[p] for p in _FUNCTION_OF_PREFIX]
    return result.status_message if all(everywhere) else None


def _mistakes(results: Sequence[GradeResult], rubric: Rubric) -> list[MistakeCount]:
    """Diagnosed mistakes and undiagnosed symptoms, counted once per submission."""
    scored = {item.id for item in rubric.items if item.points > 0}
    who: dict[tuple[str, bool], set[str]] = defaultdict(set)
    where: dict[tuple[str, bool], set[str]] = defaultdict(set)
    for result in results:
        wide = _submission_wide(result)
        for item in result.items:
            if item.id not in scored:
                continue
            for case in item.results:
                if case.passed or case.message == wide:
                    continue
                key = (
                    (case.diagnosis, True)
                    if case.diagnosis
                    else (symptom(item.id, case.message), False)
                )
                who[key].add(result.submission)
                where[key].add(item.id)
    order = sorted(who, key=lambda key: (-len(who[key]), not key[1], key[0]))
    return [
        MistakeCount(
            text,
            diagnosed,
            tuple(sorted(who[(text, diagnosed)])),
            tuple(sorted(where[(text, diagnosed)])),
        )
        for text, diagnosed in order
    ]


def one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def stat_text(value: float | None) -> str:
    return points(value) if value is not None else "n/a"


def labeller(names: Mapping[str, str] | None) -> Callable[[str], str]:
    """id -> "Ada Lovelace (submission_1001)" where a name is known, else the id."""
    known = names or {}
    return lambda sub: f"{known[sub]} ({sub})" if known.get(sub) else sub
