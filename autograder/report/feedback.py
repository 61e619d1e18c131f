"""Words for students: the causes of lost points, each stated once, in Markdown.

Used by both results.json (Gradescope) and feedback.md, so a student reads the same thing
wherever they look. A submission's failures are grouped by cause (the diagnosis, or what
went wrong when nothing explains it); each cause is stated once with the rubric items it
affects and how many public checks, and public checks get one line of detail each. Hidden
checks appear only as "hidden checks", never with a count or their data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.cases.plugin import CaseResult
from autograder.score.result import GradeResult
from autograder.score.scoring import ItemScore

MAX_DETAILS = 3  # public checks detailed per cause
STATIC_ITEMS = frozenset({"typing", "formatting"})
FATAL_STATUSES = frozenset(
    {
        "static",
        "syntax",
        "encoding",
        "empty",
        "too_large",
        "import_error",
        "missing_module",
    }
)


def points(value: float) -> str:
    """2.5 -> "2.5", 2.0 -> "2"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass
class Cause:
    """One cause of lost points and where it showed."""

    text: str
    diagnosed: bool = False  # a likely cause, not only what went wrong
    public: dict[str, list[CaseResult]] = field(default_factory=dict)  # item -> results
    hidden: set[str] = field(default_factory=set)  # items with hidden checks failing
    steps: dict[str, str] = field(default_factory=dict)  # item -> where it was found
    titles: dict[str, str] = field(default_factory=dict)  # item -> title, in order

    def heading(self) -> str:
        """The cause as the list states it."""
        return f"Likely cause: {self.text}" if self.diagnosed else self.text

    def affects(self) -> str:
        """ "create_qkv: values (2 public checks and hidden ones), shapes (hidden
        checks)": the items, grouped by function, and how many public checks."""
        parts: list[str] = []
        previous = ""
        for item, title in self.titles.items():
            function, _, aspect = title.partition(": ")
            public = len(self.public.get(item, []))
            counts = (
                f"{public} public check{'s' if public > 1 else ''}" if public else ""
            )
            if item in self.hidden:
                counts += " and hidden ones" if public else "hidden checks"
            if item in self.steps:
                counts += f"; {self.steps[item]}"
            text = aspect if function == previous and aspect else title
            parts.append(f"{text} ({counts})" if counts else text)
            previous = function if aspect else ""
        return ", ".join(parts)

    def details(self) -> list[str]:
        """One line per public check (the first few), when it adds to the cause."""
        lines = []
        shown = [r for results in self.public.values() for r in results]
        for result in shown:
            verdict = result.verdict
            text = verdict.problem if verdict.diagnosis else ""
            if text.startswith("`") and "`: " in text:
                text = text.split("`: ", 1)[1]  # the function is in the description
            if verdict.detail:
                text = f"{text}: {verdict.detail}" if text else verdict.detail
            if text:
                lines.append(f"public {result.case_id} ({result.description}): {text}")
        if len(lines) > MAX_DETAILS:
            more = len(lines) - MAX_DETAILS
            lines = lines[:MAX_DETAILS] + [f"... and {more} more public checks"]
        return lines


def causes(result: GradeResult) -> list[Cause]:
    """The submission's causes of lost points, in rubric order, each once."""
    found: dict[str, Cause] = {}
    for item in result.items:
        if item.max_score <= 0:
            continue  # advice only (formatting): said apart
        if item.gate_note:
            note = f"{item.title}: {item.gate_note}"
            found.setdefault(note, Cause(note))
        for case in item.results:
            if case.passed:
                continue
            cause = found.setdefault(
                case.verdict.cause,
                Cause(case.verdict.cause, diagnosed=case.verdict.diagnosis is not None),
            )
            cause.titles.setdefault(item.id, item.title)
            if item.id in STATIC_ITEMS:
                continue  # one check of the file, not cases
            if case.visibility == "public":
                cause.public.setdefault(item.id, []).append(case)
            else:
                cause.hidden.add(item.id)
            if case.verdict.step:
                cause.steps[item.id] = case.verdict.step
    return list(found.values())


def _fatal(result: GradeResult) -> bool:
    """Nothing ran: the file could not be read or imported (one message says why)."""
    return result.status in FATAL_STATUSES


def summary_output(result: GradeResult) -> str:
    """The submission-level explanation of the score, with every cause once."""
    lines = [f"**Score: {points(result.score)} / {points(result.max_score)}**", ""]
    if result.status != "ok":
        lines += [f"Your code could not be fully graded: {result.status_message}.", ""]
    for note in result.notes:  # how the file was read (a notebook's left-out lines)
        lines += [note, ""]
    alias = result.found_names.get("multi_head_attention")
    if alias == "multi_head_self_attention":
        lines += [
            "Found `multi_head_self_attention` (accepted; the skeleton's name is "
            "`multi_head_attention`).",
            "",
        ]
    listed = [] if _fatal(result) else causes(result)
    listed = [c for c in listed if c.text != result.status_message]
    if listed:
        lines.append("**What went wrong** (each cause once, with where it showed):")
        for number, cause in enumerate(listed, start=1):
            where = cause.affects()
            lines.append(
                f"{number}. {cause.heading()}." + (f" In {where}." if where else "")
            )
            lines += [f"   - {detail}" for detail in cause.details()]
    elif not _fatal(result):
        lines.append("Every rubric item earned full points.")
    if result.black_note:
        lines += ["", f"Formatting advice (0 points): {result.black_note}."]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def item_output(item: ItemScore, result: GradeResult | None = None) -> str:
    """One rubric item: checks passed, and which cause (numbered as in the summary)
    each failing check has."""
    if item.total == 0:
        return "No cases ran for this item (grader problem; please tell the staff)."
    if item.max_score <= 0:
        note = "; ".join(r.message for r in item.results if not r.passed)
        return f"Advice only (0 points): {note or 'nothing to change'}."
    lines = [f"{item.passed} of {item.total} checks passed."]
    if item.gate_note:
        lines.append(f"**{item.gate_note[0].upper()}{item.gate_note[1:]}.**")
    numbers = {}
    if result is not None and not _fatal(result):
        listed = [c for c in causes(result) if c.text != result.status_message]
        numbers = {cause.text: n for n, cause in enumerate(listed, start=1)}
    failing: dict[str, list[CaseResult]] = {}
    for case in item.results:
        if not case.passed:
            failing.setdefault(case.verdict.cause, []).append(case)
    for text, results in failing.items():
        public = [r.case_id for r in results if r.visibility == "public"]
        which = ", ".join(public)
        if any(r.visibility == "hidden" for r in results):
            which = f"{which} and hidden checks" if which else "hidden checks"
        if result is not None and text == result.status_message:
            cause = "the problem stated above"
        else:
            cause = f"cause {numbers[text]} above" if text in numbers else text
        lines.append(f"- failed: {which} ({cause})")
    return "\n".join(lines)


def feedback_markdown(result: GradeResult) -> str:
    """The whole feedback.md for one submission."""
    parts = [f"# Feedback: {result.submission}", "", summary_output(result)]
    if not _fatal(result):
        parts += ["", "| item | points | checks passed |", "| --- | --- | --- |"]
        parts += [
            f"| {item.title} | {points(item.score)} / {points(item.max_score)} "
            f"| {item.passed} / {item.total} |"
            for item in result.items
        ]
    return "\n".join(parts) + "\n"
