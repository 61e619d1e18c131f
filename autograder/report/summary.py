"""The instructor's view of a class after a batch: one page instead of one file per student.

Writes into OUT, after every per-submission report is written:

- ``summary.md``: count, mean, median, spread, score distribution, each rubric item's pass
  rate, the most common mistakes with counts, submissions that errored or timed out, and the
  pairs of submissions whose code is suspiciously alike;
- ``summary-scores.png`` (histogram of scores) and ``summary-items.png`` (item pass rates),
  drawn with matplotlib's Agg canvas (imported only here, so grading start-up stays lean);
- ``similarity.csv`` (see ``autograder.report.similarity``);

and returns a short digest of the same numbers for the terminal.

Pass rates, as summary.md states them: an item's *full points* rate is the share of
submissions that earned all of its points (for a 0-point item such as formatting: passed all
of its checks); its *mean points* rate is the class's mean share of its points (0-point
items: of its checks passed).
"""

from __future__ import annotations

import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.intake.manifest import Entry
from autograder.intake.submission import Submission
from autograder.report.feedback import points
from autograder.report.manifest_csv import MANIFEST_CSV
from autograder.report.similarity import (
    CONTAINED,
    CONTAINED_MIN_SHARED,
    THRESHOLD,
    SimilarityReport,
    compare,
    read_skeleton,
    write_csv,
)
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric

SUMMARY_MD = "summary.md"
SCORES_PNG = "summary-scores.png"
ITEMS_PNG = "summary-items.png"
SIMILARITY_CSV = "similarity.csv"

FIGURE_INCHES = (8.0, 4.8)
FIGURE_DPI = 100  # so both PNGs are 800 x 480 pixels
BINS = 10  # score histogram bins between 0 and the maximum score
TOP_MISTAKES = 10
TOP_PAIRS = 20
LISTED_IDS = 6  # submission ids named per mistake before "and N more"
LISTED_IGNORED = 50  # ignored files listed in summary.md before "and N more"
MIN_CHARTED = 2  # a distribution of one score is not worth 0.3 s of matplotlib

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
                _one_line(r.status_message or "; ".join(r.internal_errors)),
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


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _stat(value: float | None) -> str:
    return points(value) if value is not None else "n/a"


def summary_markdown(
    summary: ClassSummary,
    similarity: SimilarityReport | None,
    charts: str | None,
    names: Mapping[str, str] | None = None,
    ignored: Sequence[Entry] = (),
    unrecorded: Sequence[str] = (),
) -> str:
    """The whole summary.md; ``charts`` is why the PNGs are missing, None if drawn.

    ``names`` labels submissions by their students where known (id -> label).
    """
    label = _labeller(names)
    left_out = (
        [
            f"{len(unrecorded)} submission(s) kept in gradebook.csv from an earlier run "
            f"have no readable record and are not counted here: "
            f"{', '.join(unrecorded[:LISTED_IDS])}"
            + (
                f" and {len(unrecorded) - LISTED_IDS} more"
                if len(unrecorded) > LISTED_IDS
                else ""
            )
            + ".",
            "",
        ]
        if unrecorded
        else []
    )
    out = points(summary.max_score)
    lines = [
        "# Class summary",
        "",
        *left_out,
        "| statistic | value |",
        "| --- | --- |",
        f"| submissions | {summary.count} |",
        f"| mean | {_stat(summary.mean)} / {out} |",
        f"| median | {_stat(summary.median)} / {out} |",
        f"| standard deviation | {_stat(summary.stdev)} |",
        f"| lowest | {_stat(min(summary.scores, default=None))} / {out} |",
        f"| highest | {_stat(max(summary.scores, default=None))} / {out} |",
        f"| full marks | {sum(s >= summary.max_score - 1e-9 for s in summary.scores)} |",
        f"| could not be fully graded | {len(summary.trouble)} |",
        "",
        "## Score distribution",
        "",
    ]
    if charts is None:
        lines += [f"![Histogram of scores]({SCORES_PNG})", ""]
    else:
        lines += [f"(Charts were not drawn: {charts}.)", ""]
    lines += ["| score | submissions |", "| --- | --- |"]
    for index, (low, high, count) in enumerate(summary.bins):
        closing = "]" if index == len(summary.bins) - 1 else ")"
        lines.append(f"| [{points(low)}, {points(high)}{closing} | {count} |")
    lines += [
        "",
        "## Rubric items",
        "",
        "*Full points*: share of submissions that earned all of the item's points (for a "
        "0-point item, that passed all of its checks). *Mean points*: the class's mean "
        "share of the item's points (for a 0-point item, of its checks passed). *Checks "
        "passed*: graded cases passed over cases run, before the rubric's gates.",
        "",
    ]
    if charts is None:
        lines += [f"![Rubric item pass rates]({ITEMS_PNG})", ""]
    lines += [
        "| item | points | full points | mean points | checks passed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rate in summary.items:
        lines.append(
            f"| {_cell(rate.title)} (`{rate.id}`) | {points(rate.points)} "
            f"| {_percent(rate.full_share)} ({rate.full}/{rate.count}) "
            f"| {_percent(rate.mean_share)} | {rate.checks_passed}/{rate.checks_total} |"
        )
    lines += ["", "## Most common mistakes", ""]
    if summary.mistakes:
        lines += [
            "Counted once per submission. *Diagnosed* mistakes are named by replaying known "
            "misconceptions; the others are symptoms no known mistake explains.",
            "",
            "| mistake | kind | submissions | items | who |",
            "| --- | --- | --- | --- | --- |",
        ]
        for mistake in summary.mistakes[:TOP_MISTAKES]:
            who = ", ".join(label(sub) for sub in mistake.submissions[:LISTED_IDS])
            if len(mistake.submissions) > LISTED_IDS:
                who += f" and {len(mistake.submissions) - LISTED_IDS} more"
            lines.append(
                f"| {_cell(mistake.text)} | {'diagnosed' if mistake.diagnosed else 'symptom'} "
                f"| {len(mistake.submissions)} | {', '.join(mistake.items)} | {_cell(who)} |"
            )
        if len(summary.mistakes) > TOP_MISTAKES:
            lines += ["", f"... and {len(summary.mistakes) - TOP_MISTAKES} rarer ones."]
    else:
        lines.append("No graded check failed.")
    lines += ["", "## Submissions that errored or timed out", ""]
    if summary.trouble:
        lines += ["| submission | status | message |", "| --- | --- | --- |"]
        lines += [
            f"| {_cell(label(sub))} | {status} | {_cell(msg)} |"
            for sub, status, msg in summary.trouble
        ]
    else:
        lines.append("None: every submission ran to the end of its checks.")
    lines += ["", *_ignored_markdown(ignored)]
    lines += ["", *_similarity_markdown(similarity, label)]
    return "\n".join(lines) + "\n"


def _labeller(names: Mapping[str, str] | None) -> Callable[[str], str]:
    """id -> "Ada Lovelace (submission_1001)" where a name is known, else the id."""
    known = names or {}
    return lambda sub: f"{known[sub]} ({sub})" if known.get(sub) else sub


def _ignored_markdown(ignored: Sequence[Entry]) -> list[str]:
    lines = ["## Files not graded", ""]
    if not ignored:
        return lines + ["None: every file found was graded or used."]
    lines += [
        f"{len(ignored)} file(s) found under SUBMISSIONS were not graded; "
        f"`{MANIFEST_CSV}` lists every file and what was done with it.",
        "",
        "| file | submission | why |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {_cell(e.path)} | {_cell(e.submission) or '-'} | {_cell(e.detail)} |"
        for e in ignored[:LISTED_IGNORED]
    ]
    if len(ignored) > LISTED_IGNORED:
        lines += ["", f"... and {len(ignored) - LISTED_IGNORED} more."]
    return lines


def _similarity_markdown(
    report: SimilarityReport | None, label: Callable[[str], str]
) -> list[str]:
    lines = ["## Similar pairs", ""]
    if report is None:
        return lines + ["Not computed."]
    lines += [
        f"Code compared after dropping formatting, comments, docstrings and the handout "
        f"skeleton's own code, with names normalised (see `{SIMILARITY_CSV}` for every "
        f"ranked pair). A pair is flagged at similarity >= {THRESHOLD:g}, or when "
        f"{_percent(CONTAINED)} of one file is found in the other (at least "
        f"{CONTAINED_MIN_SHARED} fingerprints). A flag is a reason to read both files, "
        "not a verdict.",
        "",
    ]
    if not report.skeleton_used:
        lines += [
            "(The handout skeleton was not found, so its code was not subtracted.)",
            "",
        ]
    if report.skeleton_only:
        lines += [
            f"Not compared (nothing beyond the skeleton): {', '.join(report.skeleton_only)}.",
            "",
        ]
    flagged = report.flagged
    shown = flagged[:TOP_PAIRS] if flagged else report.pairs[:3]
    lines.append(
        f"**{len(flagged)} pair(s) flagged** among {report.compared} compared submissions."
        + ("" if flagged else " The most similar pairs, for scale:")
    )
    if shown:
        lines += [
            "",
            "| a | b | similarity | a in b | b in a | identical after normalising |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_cell(label(p.a))} | {_cell(label(p.b))} | {p.similarity:.2f} "
            f"| {_percent(p.a_in_b)} "
            f"| {_percent(p.b_in_a)} | {'yes' if p.identical else 'no'} |"
            for p in shown
        ]
    return lines


def draw_charts(summary: ClassSummary, out: Path) -> None:
    """``summary-scores.png`` and ``summary-items.png``, 800 x 480 pixels each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure = Figure(figsize=FIGURE_INCHES, dpi=FIGURE_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = summary.bins[0][1] - summary.bins[0][0]
    axes.bar(
        [low for low, _, _ in summary.bins],
        [count for _, _, count in summary.bins],
        width=width,
        align="edge",
        color="#4c72b0",
        edgecolor="white",
    )
    if summary.mean is not None and summary.median is not None:
        axes.axvline(
            summary.mean,
            color="#c44e52",
            linestyle="--",
            label=f"mean {points(summary.mean)}",
        )
        axes.axvline(
            summary.median,
            color="#222222",
            linestyle=":",
            label=f"median {points(summary.median)}",
        )
        axes.legend(loc="upper left")
    axes.set_xlim(0, summary.bins[-1][1])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(f"score (out of {points(summary.max_score)})")
    axes.set_ylabel("submissions")
    axes.set_title(f"Scores of {summary.count} submission(s)")
    figure.tight_layout()
    figure.savefig(out / SCORES_PNG, format="png", metadata={"Software": None})

    figure = Figure(figsize=FIGURE_INCHES, dpi=FIGURE_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    rows = list(reversed(summary.items))  # first rubric item on top
    where = list(range(len(rows)))
    axes.barh(
        [y + 0.2 for y in where],
        [r.full_share for r in rows],
        height=0.4,
        color="#4c72b0",
        label="full points",
    )
    axes.barh(
        [y - 0.2 for y in where],
        [r.mean_share for r in rows],
        height=0.4,
        color="#dd8452",
        label="mean points",
    )
    axes.set_yticks(where, [r.id for r in rows])
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("share of submissions / of points")
    axes.set_title("Rubric items: pass rates")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    figure.savefig(out / ITEMS_PNG, format="png", metadata={"Software": None})


def terminal_digest(
    summary: ClassSummary,
    similarity: SimilarityReport | None,
    out: Path,
    names: Mapping[str, str] | None = None,
) -> str:
    """The same numbers as summary.md, briefly, for the end of ``make grade``."""
    label = _labeller(names)
    lines = [
        f"Class: {summary.count} submission(s), mean {_stat(summary.mean)}, "
        f"median {_stat(summary.median)} (of {points(summary.max_score)}); "
        f"{len(summary.trouble)} could not be fully graded",
        f"{'item':<16} {'full':>5} {'mean':>5}",
    ]
    lines += [
        f"{rate.id:<16} {_percent(rate.full_share):>5} {_percent(rate.mean_share):>5}"
        for rate in summary.items
    ]
    for mistake in summary.mistakes[:3]:
        lines.append(f"{len(mistake.submissions)}x {_one_line(mistake.text, 90)}")
    if similarity is not None:
        flagged = similarity.flagged
        top = (
            f" (top: {label(flagged[0].a)} ~ {label(flagged[0].b)}, "
            f"{flagged[0].similarity:.2f})"
            if flagged
            else ""
        )
        lines.append(
            f"Similar pairs flagged: {len(flagged)}{top}; see {out / SIMILARITY_CSV}"
        )
    lines.append(f"Class summary: {out / SUMMARY_MD}")
    return "\n".join(lines)


def write_class_reports(
    results: Sequence[GradeResult],
    rubric: Rubric,
    submissions: Sequence[Submission],
    out: Path,
    ignored: Sequence[Entry] = (),
    unrecorded: Sequence[str] = (),
) -> str:
    """Write summary.md, the PNGs and similarity.csv into ``out``; return the digest.

    ``results`` cover the whole gradebook (this run's and the kept rows' recorded ones);
    ``unrecorded`` are kept submissions left out for lack of a readable record, and
    ``ignored`` the files of SUBMISSIONS that were not graded (summary.md lists both).
    Grades are already written when this runs, so a failure here is reported on stderr
    (and the digest is empty), not raised.
    """
    try:
        summary = summarise(results, rubric)
        names = {s.id: s.names for s in submissions if s.names}
        sources: Mapping[str, bytes] = {
            s.id: s.source for s in submissions if s.problem is None
        }
        similarity = compare(sources, read_skeleton())
        write_csv(similarity, out / SIMILARITY_CSV, names)
        charts: str | None = None
        if len(results) < MIN_CHARTED:
            charts = f"fewer than {MIN_CHARTED} submissions"
        else:
            try:
                draw_charts(summary, out)
            except ImportError as exc:
                charts = f"matplotlib is not available ({exc})"
        (out / SUMMARY_MD).write_text(
            summary_markdown(summary, similarity, charts, names, ignored, unrecorded)
        )
        return terminal_digest(summary, similarity, out, names)
    except Exception as exc:  # the grades are safe; say what is missing
        print(
            f"warning: the class summary could not be written: {exc!r}", file=sys.stderr
        )
        return ""
