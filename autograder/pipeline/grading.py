"""Grade one submission: static report in, confined run through pytest (this process's
session, ``cases.session``), scored result out."""

from __future__ import annotations

import sys
import time

from autograder.cases.explain import localise, review
from autograder.cases.session import SessionEnded, case_session
from autograder.config import Limits
from autograder.confine.remote import StudentModule
from autograder.contract.outcomes import Failed
from autograder.contract.source_text import reading
from autograder.contract.words import import_failure
from autograder.intake.submission import Submission
from autograder.judge.case import Case
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric
from autograder.score.scoring import score_items
from autograder.static.report import StaticReport


def grade(
    submission: str,
    student: str,
    file_name: str,
    source: bytes,
    static: StaticReport,
    cases: list[Case],
    rubric: Rubric,
    limits: Limits,
) -> GradeResult:
    """Run every graded case against ``source`` and score it; never raises for bad code."""
    started = time.monotonic()
    module = StudentModule(source, limits)
    if static.fatal is not None:
        module.import_failure = Failed(static.fatal_kind or "static", static.fatal)
    try:
        try:
            graded, internal = case_session(cases).run(module, static)
        except SessionEnded as exc:  # the grader's fault: no case result stands
            graded, internal = [], [str(exc)]
        # Evidence for the diagnosis: the student's helpers, called after every graded case.
        results = localise(cases, graded, module, static.text)
    finally:
        module.close()
    items = score_items(rubric, review(cases, results))
    status, message = _status(static, module)
    if internal:
        status = "internal_error"
        print("\n".join(internal), file=sys.stderr)
    return GradeResult(
        submission=submission,
        student=student,
        file_name=file_name,
        score=round(sum(i.score for i in items), 2),
        max_score=rubric.max_score,
        status=status,
        status_message=message,
        items=items,
        found_names=dict(module.resolved or static.defined),
        black_note=static.black_note,
        printed="".join(module.printed).strip(),
        seconds=time.monotonic() - started,
        internal_errors=internal,
    )


def _status(static: StaticReport, module: StudentModule) -> tuple[str, str]:
    if static.fatal is not None:
        return static.fatal_kind or "static", static.fatal
    if module.import_failure is not None:
        failure = import_failure(module.import_failure)
        return failure.kind, failure.message
    if module.hung:
        failure = next(iter(module.hung.values()))
        return failure.kind, failure.message
    return "ok", ""


def grade_one(
    submission: Submission,
    static: StaticReport,
    cases: list[Case],
    rubric: Rubric,
    limits: Limits,
) -> GradeResult:
    """Grade one submission, turning any grader failure into an internal_error row.

    Every message names lines through the submission's line map (a notebook's cells).
    """
    try:
        with reading(submission.line_map):
            result = grade(
                submission.id,
                submission.student,
                submission.file_name,
                submission.source,
                static,
                cases,
                rubric,
                limits,
            )
        result.notes = list(submission.notes)
        return result
    except Exception as exc:  # a grader bug must not lose the row
        return failed_row(
            submission, rubric, "internal_error", f"grader error: {exc!r}"
        )


def failed_row(
    submission: Submission, rubric: Rubric, status: str, message: str
) -> GradeResult:
    """A zero-point result for a submission that could not be graded at all."""
    return GradeResult(
        submission=submission.id,
        student=submission.student,
        file_name=submission.file_name,
        score=0.0,
        max_score=rubric.max_score,
        status=status,
        status_message=message,
        items=score_items(rubric, []),
    )
