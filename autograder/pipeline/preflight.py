"""Prove the grading environment works before any student's grade below full marks is
written, and grade submissions one after the other in this process.

A submission known to be correct (``known_good.py``) is graded through the very path the
students' go: static checks and mypy in the same run, the confined child in the same mode,
temp folders and interpreter, every graded case, the rubric. If it does not earn full
marks, the fault lies with the machine or the grader (a closed temp folder, a broken
interpreter, a confinement that kills every child, mypy failing), so the run stops with a
message for staff naming the cause, and no student gets a row. ``run_autograder`` does the
same and then records no score (Gradescope shows an autograder failure).

A broken environment only ever takes points away, so a run whose every submission earned
full marks has proven the path itself: the known-good is graded only when some result is
below full marks (a batch's workers grade it first, beside the students; ``grade_in_turn``
grades it after them, only when needed). Either way it is checked before any report.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Iterable

from autograder.config import PACKAGE_DIR, Limits
from autograder.intake.submission import Submission
from autograder.score.result import GradeResult
from autograder.static.batch import StaticChecks
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


def needs_proof(results: Iterable[GradeResult]) -> bool:
    """Whether a result is below full marks (or not ok): only then can a broken
    environment have cost a student anything, and the known-good must vouch for it."""
    return any(r.score < r.max_score or r.status != "ok" for r in results)


def prove(result: GradeResult, report: StaticReport) -> None:
    """Raise ``EnvironmentFault`` unless the known-good's grade shows a working path."""
    problem = fault(result, report.mypy_errors)
    if problem is not None:
        raise EnvironmentFault(problem)


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


def _probe_early(limits: Limits) -> None:
    """Probe the confinement (its answer is cached) and start the zygote that forks the
    confined children, while other work goes on; a failure is raised again, in the
    caller's thread, by the first confined child. Its modules are imported by the
    caller (``grade_in_turn``), never beside another thread's imports."""
    from autograder.confine.forked import warm_zygote
    from autograder.confine.probe import detect_confinement

    with contextlib.suppress(Exception):
        warm_zygote(detect_confinement(), limits)


def grade_in_turn(
    submissions: list[Submission],
    limits: Limits,
    progress: Callable[[], None] | None = None,
) -> dict[str, GradeResult]:
    """Grade ``submissions`` one after the other in this process, each as soon as its
    static checks are done; then, if any result is below full marks, the known-good.

    The static tools start first, and the confinement is probed in a thread, so this
    process loads pytest and the cases while they work. Raises ``EnvironmentFault`` when
    the known-good is not full.
    """
    good = known_good()
    checks = StaticChecks([*submissions, good], limits)
    import autograder.confine.forked  # noqa: F401 - for _probe_early, in this thread
    import autograder.confine.probe  # noqa: F401

    probing = threading.Thread(target=_probe_early, args=(limits,), daemon=True)
    probing.start()
    from autograder.cases.casebook import load_cases  # imported while mypy works
    from autograder.cases.session import case_session
    from autograder.pipeline.grading import grade_one
    from autograder.score.rubric import load_rubric

    cases, rubric = load_cases(), load_rubric()
    case_session(cases)  # pytest configures and collects while the zygote starts
    probing.join()
    by_id = {sub.id: sub for sub in submissions}
    results: dict[str, GradeResult] = {}
    for key in checks.settled():
        if key in by_id:
            results[key] = grade_one(
                by_id[key], checks.reports[key], cases, rubric, limits
            )
            if progress is not None:
                progress()
    reports = checks.finish()
    if needs_proof(results.values()):
        with contextlib.redirect_stderr(io.StringIO()):  # its faults go in one message
            result = grade_one(good, reports[good.id], cases, rubric, limits)
        prove(result, reports[good.id])
    return results
