"""The static checks of a whole batch: every submission parsed, then one mypy run for all.

mypy runs in its own process and one black worker checks formatting in another, each under
its limits; while mypy finishes, the caller's ``meanwhile`` runs on the parsed reports (the
preflight grades its known-good submission then).
"""

from __future__ import annotations

from collections.abc import Callable

from autograder.config import KIT_ROOT, Limits
from autograder.contract.source_text import reading
from autograder.intake.submission import Submission
from autograder.static.black_run import BlackRun
from autograder.static.mypy_run import MypyRun
from autograder.static.read import read_submission
from autograder.static.report import StaticReport

MYPY_CACHE = KIT_ROOT / ".cache" / "mypy"


def static_reports(
    submissions: list[Submission],
    meanwhile: Callable[[dict[str, StaticReport]], None] | None = None,
    limits: Limits | None = None,
) -> dict[str, StaticReport]:
    """Parse every submission, then type-check all parseable ones in one mypy run.

    mypy runs in its own process and one black worker checks formatting in another (each
    under the limits of ``limits``); this one waits for black, then runs ``meanwhile``
    (the preflight) on the parsed reports while mypy finishes.
    """
    limits = limits or Limits()
    reports = {}
    for sub in submissions:
        with reading(sub.line_map):  # a notebook's syntax error names its cell
            if sub.problem is not None:
                report = StaticReport(fatal=sub.problem, fatal_kind=sub.problem_kind)
            else:
                report = read_submission(
                    sub.source, black=False, file_name=sub.file_name
                )
        reports[sub.id] = report
    texts = {key: r.text for key, r in reports.items() if r.fatal is None}
    checking = MypyRun(texts, MYPY_CACHE, limits)
    try:
        with BlackRun(limits) as formatting:
            for report in reports.values():
                formatting.check(report)
        if meanwhile is not None:
            meanwhile(reports)
    finally:
        checking.record(reports)
    return reports
