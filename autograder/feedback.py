"""Words for students: per-item explanations and the submission summary, in Markdown.

Used by both results.json (Gradescope) and feedback.md, so a student reads the same thing
wherever they look. Hidden cases appear only through their safe messages.
"""

from __future__ import annotations

from collections import Counter

from autograder.grading import GradeResult
from autograder.scoring import ItemScore

MAX_LISTED_FAILURES = 4


def points(value: float) -> str:
    """2.5 -> "2.5", 2.0 -> "2"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def item_output(item: ItemScore) -> str:
    """What passed and what failed in one rubric item, with the likely cause."""
    if item.total == 0:
        return "No cases ran for this item (grader problem; please tell the staff)."
    lines = [f"{item.passed} of {item.total} checks passed."]
    if item.gate_note:
        lines.append(f"**{item.gate_note[0].upper()}{item.gate_note[1:]}.**")
    failures = [r for r in item.results if not r.passed]
    public = [r for r in failures if r.visibility == "public"]
    hidden = [r for r in failures if r.visibility == "hidden"]
    for result in public[:MAX_LISTED_FAILURES]:
        lines.append(f"- {result.case_id}: {result.message}")
    if len(public) > MAX_LISTED_FAILURES:
        lines.append(
            f"- ... and {len(public) - MAX_LISTED_FAILURES} more public checks"
        )
    if hidden:
        lines.append(f"- {len(hidden)} hidden check(s) failed:")
        reasons = Counter(r.message for r in hidden)
        for message, count in reasons.most_common(MAX_LISTED_FAILURES):
            times = f" ({count}x)" if count > 1 else ""
            lines.append(f"  - {message}{times}")
    return "\n".join(lines)


def summary_output(result: GradeResult) -> str:
    """The submission-level explanation of the score."""
    lines = [f"**Score: {points(result.score)} / {points(result.max_score)}**", ""]
    if result.status != "ok":
        lines.append(f"Your code could not be fully graded: {result.status_message}.")
        lines.append("")
    for note in result.notes:  # how the file was read (a notebook's left-out lines)
        lines += [note, ""]
    alias = result.found_names.get("multi_head_attention")
    if alias == "multi_head_self_attention":
        lines.append(
            "Found `multi_head_self_attention` (accepted; the skeleton's name is "
            "`multi_head_attention`)."
        )
    lost = [i for i in result.items if i.score < i.max_score]
    if not lost:
        lines.append("Every rubric item earned full points.")
    else:
        lines.append("Points lost:")
        for item in lost:
            cause = _first_cause(item)
            lines.append(
                f"- {item.title}: {points(item.score)}/{points(item.max_score)}"
                + (f" ({cause})" if cause else "")
            )
    if result.black_note:
        lines += ["", f"Formatting advice: {result.black_note}."]
    return "\n".join(lines)


def _first_cause(item: ItemScore) -> str:
    if item.gate_note:
        return item.gate_note
    diagnoses = [r.diagnosis for r in item.results if r.diagnosis]
    if diagnoses:
        return Counter(diagnoses).most_common(1)[0][0]
    failed = [r.message for r in item.results if not r.passed]
    return Counter(failed).most_common(1)[0][0] if failed else ""


def feedback_markdown(result: GradeResult) -> str:
    """The whole feedback.md for one submission."""
    title = f"# Feedback: {result.submission}"
    parts = [title, "", summary_output(result), "", "## Rubric", ""]
    parts.append("| item | points | checks passed |")
    parts.append("| --- | --- | --- |")
    for item in result.items:
        parts.append(
            f"| {item.title} | {points(item.score)} / {points(item.max_score)} "
            f"| {item.passed} / {item.total} |"
        )
    for item in result.items:
        if item.score < item.max_score or item.passed < item.total:
            parts += ["", f"### {item.title}", "", item_output(item)]
    return "\n".join(parts) + "\n"
