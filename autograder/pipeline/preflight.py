"""Prove the grading environment works before any student is graded.

A submission known to be correct (``known_good.py``) is graded through the very path the
students' go: static checks and mypy in the same run, the confined child in the same mode,
temp folders and interpreter, every graded case, the rubric. If it does not earn full
marks, the fault lies with the machine or the grader (a closed temp folder, a broken
interpreter, a confinement that kills every child, mypy failing), so the batch stops with a
message for staff naming the cause, and no student gets a row. ``run_autograder`` does the
same and then records no score (Gradescope shows an autograder failure).

The known-good runs while mypy checks the batch in its own process, so it costs little
wall time; its own mypy result arrives with the batch's and is checked afterwards.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace

from autograder.config import PACKAGE_DIR, Limits
from autograder.intake.submission import Submission
from autograder.judge.case import Case
from autograder.pipeline.grading import grade_one
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric
from autograder.static.batch import static_reports
from autograder.static.report import StaticReport

KNOWN_GOOD_FILE = PACKAGE_DIR / "pipeline" / "known_good.py"
KNOWN_GOOD_ID = (
    "_known_good"  # ids of students never start with "_" (intake.ids.safe_id)
)
SHOWN_OUTPUT = 600  # characters of the known-good child's output quoted for staff


class EnvironmentFault(RuntimeError):
    """The known-good submission did not earn full marks; the message names the cause."""


def known_good() -> Submission:
    """The known-good submission, read from the kit's source."""
    return Submission(KNOWN_GOOD_ID, "known_good.py", KNOWN_GOOD_FILE.read_bytes())


def assume_typed(report: StaticReport) -> StaticReport:
    """The known-good's report while its mypy result is still on the way (checked later)."""
    return replace(report, mypy_errors=[])


def fault(result: GradeResult, mypy_errors: list[str] | None) -> str | None:
    """Why the known-good's grade shows a broken environment, or None when it is full."""
    causes: list[str] = []
    if mypy_errors is None:
        causes.append("mypy could not check it (every typing point would be lost)")
    elif mypy_errors:
        causes.append(f"mypy reported errors: {'; '.join(mypy_errors[:3])}")
    if result.status != "ok" and result.status_message:
        causes.append(f"{result.status}: {result.status_message}")
    causes += [error.strip().splitlines()[-1] for error in result.internal_errors]
    if result.score < result.max_score and not causes:
        lost = [
            f"{item.id} {item.score:g}/{item.max_score:g}"
            + next((f" ({r.message})" for r in item.results if not r.passed), "")
            for item in result.items
            if item.score < item.max_score
        ]
        causes.append("points lost: " + "; ".join(lost))
    if not causes:
        return None
    message = (
        f"the grading environment is broken: a submission known to be correct scored "
        f"{result.score:g}/{result.max_score:g}. Cause: {' | '.join(dict.fromkeys(causes))}"
    )
    if result.printed:
        tail = result.printed.strip()[-SHOWN_OUTPUT:]
        message += f"\nIts child process printed:\n{tail}"
    return message + "\nNo student was graded; fix the machine and grade again."


def checked_statically(
    submissions: list[Submission], cases: list[Case], rubric: Rubric, limits: Limits
) -> dict[str, StaticReport]:
    """Static reports of ``submissions``, after the preflight proved the path works.

    Raises ``EnvironmentFault`` when the known-good submission, graded through the same
    path while mypy runs, does not earn full marks.
    """
    good = known_good()
    outcome: list[GradeResult] = []

    def preflight(reports: dict[str, StaticReport]) -> None:
        typed = assume_typed(reports[good.id])
        with contextlib.redirect_stderr(io.StringIO()):  # its faults go in one message
            outcome.append(grade_one(good, typed, cases, rubric, limits))

    reports = static_reports([*submissions, good], meanwhile=preflight, limits=limits)
    problem = fault(outcome[0], reports.pop(good.id).mypy_errors)
    if problem is not None:
        raise EnvironmentFault(problem)
    return reports
