"""What ``make grade`` prints: the table of scores, and the class's numbers in brief."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from autograder.intake.submission import Submission
from autograder.report.class_stats import (
    ClassSummary,
    labeller,
    one_line,
    percent,
    stat_text,
)
from autograder.report.feedback import points
from autograder.report.similarity import SIMILARITY_CSV, SimilarityReport
from autograder.score.result import GradeResult

NAMES_SHOWN = 40  # characters of the submitters' names in the terminal table


def terminal_table(
    results: Sequence[GradeResult], submissions: Sequence[Submission]
) -> str:
    """A short plain-text table for the terminal, naming students where known."""
    names = {sub.id: sub.names for sub in submissions}
    width = max([len(r.submission) for r in results] + [10])
    shown = {
        r.submission: _cut(names.get(r.submission, ""), NAMES_SHOWN) for r in results
    }
    named = any(shown.values())  # a folder of files names nobody: no empty column
    name_width = max([len(n) for n in shown.values()] + [7])
    student = f"{'student':<{name_width}}  " if named else ""
    lines = [f"{'submission':<{width}}  {student}{'score':>7}  status"]
    for result in results:
        score = (
            f"{points(result.score)}/{points(result.max_score)}"
            if result.status != "internal_error"
            else "-"
        )
        who = f"{shown[result.submission]:<{name_width}}  " if named else ""
        lines.append(f"{result.submission:<{width}}  {who}{score:>7}  {result.status}")
    return "\n".join(lines)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def terminal_digest(
    summary: ClassSummary,
    similarity: SimilarityReport | None,
    page: Path,
    names: Mapping[str, str] | None = None,
) -> str:
    """The same numbers as the class page ``page`` (summary.md), briefly, for the end of
    ``make grade``; ``similarity.csv`` is named beside it."""
    label = labeller(names)
    lines = [
        f"Class: {summary.count} submission(s), mean {stat_text(summary.mean)}, "
        f"median {stat_text(summary.median)} (of {points(summary.max_score)}); "
        f"{len(summary.trouble)} could not be fully graded",
        f"{'item':<16} {'full':>5} {'mean':>5}",
    ]
    lines += [
        f"{rate.id:<16} {percent(rate.full_share):>5} {percent(rate.mean_share):>5}"
        for rate in summary.items
    ]
    for mistake in summary.mistakes[:3]:
        lines.append(f"{len(mistake.submissions)}x {one_line(mistake.text, 90)}")
    if similarity is not None:
        flagged = similarity.flagged
        top = (
            f" (top: {label(flagged[0].a)} ~ {label(flagged[0].b)}, "
            f"{flagged[0].similarity:.2f})"
            if flagged
            else ""
        )
        lines.append(
            f"Similar pairs flagged: {len(flagged)}{top}; see {page.with_name(SIMILARITY_CSV)}"
        )
    lines.append(f"Class summary: {page}")
    return "\n".join(lines)
