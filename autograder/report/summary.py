"""The instructor's view of a class after a batch: one page instead of one file per student.

Writes into OUT, after every per-submission report is written:

- ``summary.md``: count, mean, median, spread, score distribution, each rubric item's pass
  rate, the most common mistakes with counts, submissions that errored or timed out, and the
  pairs of submissions whose code is suspiciously alike (numbers from
  ``autograder.report.class_stats``);
- ``summary-scores.png`` and ``summary-items.png`` (``autograder.report.charts``);
- ``similarity.csv`` (``autograder.report.similarity``);

and returns a short digest of the same numbers for the terminal
(``autograder.report.terminal``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from autograder.intake.manifest import Entry
from autograder.intake.submission import Submission
from autograder.report.charts import ITEMS_PNG, SCORES_PNG, draw_charts
from autograder.report.class_stats import (
    ClassSummary,
    labeller,
    percent,
    stat_text,
    summarise,
)
from autograder.report.feedback import points
from autograder.report.manifest_csv import MANIFEST_CSV
from autograder.report.similarity import (
    CONTAINED,
    CONTAINED_MIN_SHARED,
    SIMILARITY_CSV,
    THRESHOLD,
    SimilarityReport,
    compare,
    read_skeleton,
    write_csv,
)
from autograder.report.terminal import terminal_digest
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric

SUMMARY_MD = "summary.md"
TOP_MISTAKES = 10
TOP_PAIRS = 20
LISTED_IDS = 6  # submission ids named per mistake before "and N more"
LISTED_IGNORED = 50  # ignored files listed in summary.md before "and N more"
MIN_CHARTED = 2  # a distribution of one score is not worth 0.3 s of matplotlib


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


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
    label = labeller(names)
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
        f"| mean | {stat_text(summary.mean)} / {out} |",
        f"| median | {stat_text(summary.median)} / {out} |",
        f"| standard deviation | {stat_text(summary.stdev)} |",
        f"| lowest | {stat_text(min(summary.scores, default=None))} / {out} |",
        f"| highest | {stat_text(max(summary.scores, default=None))} / {out} |",
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
            f"| {percent(rate.full_share)} ({rate.full}/{rate.count}) "
            f"| {percent(rate.mean_share)} | {rate.checks_passed}/{rate.checks_total} |"
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
        f"{percent(CONTAINED)} of one file is found in the other (at least "
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
            f"| {percent(p.a_in_b)} "
            f"| {percent(p.b_in_a)} | {'yes' if p.identical else 'no'} |"
            for p in shown
        ]
    return lines


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
        return terminal_digest(summary, similarity, out / SUMMARY_MD, names)
    except Exception as exc:  # the grades are safe; say what is missing
        print(
            f"warning: the class summary could not be written: {exc!r}", file=sys.stderr
        )
        return ""
