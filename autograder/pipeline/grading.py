"""Grade one submission: static report in, confined run through pytest, scored result out."""

from __future__ import annotations

import contextlib
import io
import sys
import time

import pytest

from autograder.cases.explain import localise, review
from autograder.cases.plugin import GradingPlugin
from autograder.config import CASES_DIR, Limits
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

LEAN_DISABLED = (
    "unraisableexception",
    "threadexception",
    "logging",
    "doctest",
    "junitxml",
    "pastebin",
    "setuponly",
    "setupplan",
    "stepwise",
    "debugging",
    "unittest",
    "subtests",
)

PYTEST_ARGS = [
    str(CASES_DIR),
    "-c",
    str(CASES_DIR / "pytest.ini"),
    "--rootdir",
    str(CASES_DIR),
    "-s",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:terminal",
    "-p",
    "no:warnings",
    "-p",
    "no:faulthandler",
    "--import-mode=importlib",
    # Speed (pytest.main runs once per submission): no third-party plugins, and none of
    # the built-in ones the graded cases do not use. unraisableexception alone costs a
    # forced gc.collect() several times per session.
    "--disable-plugin-autoload",
    *(arg for name in LEAN_DISABLED for arg in ("-p", f"no:{name}")),
]


class ShortTracebacks:
    """Make pytest describe a failed case in one line instead of a sourced traceback.

    Grading never shows pytest's report (the plugin keeps its own messages), yet pytest
    builds a long traceback, reading source files, for every failed case; with the
    terminal plugin off there is no ``--tb`` option, so the style is set here.
    """

    def pytest_configure(self, config: pytest.Config) -> None:
        config.option.tbstyle = "line"


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
    plugin = GradingPlugin(cases, module, static)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exit_code = pytest.main(PYTEST_ARGS, plugins=[plugin, ShortTracebacks()])
        # Evidence for the diagnosis: the student's helpers, called after every graded case.
        results = localise(cases, plugin.results, module, static.text)
    finally:
        module.close()
    internal = list(plugin.internal_errors)
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        internal.append(f"pytest exited with {exit_code!r}")
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
