"""What the grader learned about a submission without running it, and why the typing
item is not earned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.contract.functions import FUNCTION_ALIASES
from autograder.contract.source_text import line_ref


@dataclass
class StaticReport:
    """What the grader learned about a submission without running it."""

    fatal: str | None = (
        None  # a problem that stops everything (empty, encoding, syntax)
    )
    fatal_kind: str | None = None
    text: str = ""
    defined: dict[str, str] = field(default_factory=dict)  # canonical -> alias found
    unannotated: dict[str, list[str]] = field(default_factory=dict)
    mypy_errors: list[str] | None = None  # None: mypy gave no verdict
    mypy_note: str = ""  # why not, when mypy gave no verdict on this file
    mypy_fault: bool = False  # mypy gave no verdict for a reason of the grader's
    silenced: list[str] = field(default_factory=list)  # ways the file turns mypy off
    black_clean: bool | None = None  # None: not checked (black_note says why)
    black_note: str = ""
    file_name: str = "mhsa.py"  # as the student named it, for advice

    @property
    def annotations_complete(self) -> bool:
        """Every graded function exists as a def and annotates everything."""
        return len(self.defined) == len(FUNCTION_ALIASES) and not any(
            self.unannotated.values()
        )


def typing_problems(report: StaticReport) -> list[str]:
    """Why the typing item is not earned; empty when it is (gating aside)."""
    if report.fatal:
        return [f"not checked: {report.fatal}"]
    problems = []
    for canonical in FUNCTION_ALIASES:
        if canonical not in report.defined:
            problems.append(f"`{canonical}` is not defined with `def` at the top level")
            continue
        missing = report.unannotated.get(canonical, [])
        if missing:
            name = report.defined[canonical]
            problems.append(
                f"`{name}` lacks type annotations on {', '.join(missing)} (annotate "
                "every parameter and the return, e.g. `Q: np.ndarray` and `-> np.ndarray`)"
            )
    if report.silenced:
        problems.append(
            f"your file uses `@{report.silenced[0]}`, which turns mypy off: remove it"
        )
    if report.mypy_errors is None:
        problems.append(report.mypy_note or "mypy could not check the file")
    elif report.mypy_errors:
        shown = [_located(error) for error in report.mypy_errors[:5]]
        more = len(report.mypy_errors) - len(shown)
        problems.append(
            f"mypy reports a type error (run `mypy {shown_name(report.file_name)}` to see it): "
            + "; ".join(shown)
            + (f" (and {more} more)" if more else "")
        )
    return problems


def _located(mypy_error: str) -> str:
    """A stored ``line N: message`` with the line named as feedback names lines."""
    line, _, message = mypy_error.partition(": ")
    number = line.removeprefix("line ")
    return f"{line_ref(int(number))}: {message}" if number.isdigit() else mypy_error


def shown_name(file_name: str) -> str:
    """The student's file name, fit for a code span in advice."""
    return file_name.replace("`", "'") or "mhsa.py"
