"""Grade a whole folder: static checks and one mypy run for all, then confined runs in
parallel worker processes, then reports written by this (the main) process."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import Future
from pathlib import Path

from autograder.casebook import Case, load_cases
from autograder.config import FIXTURES_DIR, KIT_ROOT, SOLUTION_DIR, Limits
from autograder.discover import Submission, discover
from autograder.grading import GradeResult, grade
from autograder.report import terminal_table, write_gradebook, write_submission
from autograder.rubric import Rubric, load_rubric
from autograder.sandbox import detect_confinement, exposed_assignments, protect
from autograder.scoring import score_items
from autograder.static import BlackRun, MypyRun, StaticReport, read_submission
from autograder.summary import write_class_reports

MYPY_CACHE = KIT_ROOT / ".cache" / "mypy"
# The Makefile's own variables: paths and counts, nothing to keep secret.
MAKE_VARIABLES = frozenset(
    {"SUBMISSIONS", "OUT", "JOBS", "PYTHON", "VENV", "SEED", "FRESH"}
)

_worker: dict[str, object] = {}


def _init_worker(limits: Limits) -> None:
    _worker["cases"] = load_cases()
    _worker["rubric"] = load_rubric()
    _worker["limits"] = limits


def _grade_in_worker(submission: Submission, static: StaticReport) -> GradeResult:
    cases = _worker["cases"]
    rubric = _worker["rubric"]
    limits = _worker["limits"]
    assert isinstance(rubric, Rubric) and isinstance(limits, Limits)
    assert isinstance(cases, list)
    return grade_one(submission, static, cases, rubric, limits)


def grade_one(
    submission: Submission,
    static: StaticReport,
    cases: list[Case],
    rubric: Rubric,
    limits: Limits,
) -> GradeResult:
    """Grade one submission, turning any grader failure into a zero row with a reason."""
    try:
        return grade(
            submission.id,
            submission.student,
            submission.file_name,
            submission.source,
            static,
            cases,
            rubric,
            limits,
        )
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


def warn_if_exposed() -> None:
    """In uid mode, tell staff which command-line values student code could read."""
    names = [n for n in exposed_assignments() if n not in MAKE_VARIABLES]
    if names and detect_confinement().mode == "uid":
        print(
            f"mhsa: warning: {', '.join(names)} set on a command line (e.g. `make grade "
            f"{names[0]}=...`): without namespaces student code can read every "
            "process's command line (/proc/*/cmdline); pass secrets through the "
            "environment or a file instead",
            file=sys.stderr,
        )


def _written(
    result: GradeResult, submission: Submission, rubric: Rubric, out: Path
) -> GradeResult:
    """Write one submission's reports; if that fails, its row says so and the batch goes on."""
    try:
        write_submission(result, out)
        return result
    except Exception as exc:  # a report that cannot be written loses only itself
        failed = failed_row(
            submission,
            rubric,
            "internal_error",
            f"the grader could not write this submission's report ({type(exc).__name__})",
        )
        try:
            write_submission(failed, out)
        except Exception:  # noqa: S110 - the gradebook row still tells staff
            pass
        return failed


def static_reports(
    submissions: list[Submission], limits: Limits | None = None
) -> dict[str, StaticReport]:
    """Parse every submission, then type-check all parseable ones in one mypy run.

    mypy runs in its own process while one black worker checks formatting in another;
    this process only waits for both (each under the limits of ``limits``).
    """
    limits = limits or Limits()
    reports = {}
    for sub in submissions:
        if sub.problem is not None:
            report = StaticReport(fatal=sub.problem, fatal_kind="no_file")
        else:
            report = read_submission(sub.source, black=False, file_name=sub.file_name)
        reports[sub.id] = report
    texts = {key: r.text for key, r in reports.items() if r.fatal is None}
    checking = MypyRun(texts, MYPY_CACHE, limits)
    try:
        with BlackRun(limits) as formatting:
            for report in reports.values():
                formatting.check(report)
    finally:
        checking.record(reports)
    return reports


def grade_folder(
    source: Path, out: Path, jobs: int, limits: Limits, quiet: bool = False
) -> list[GradeResult]:
    """Grade every submission under ``source`` into ``out``; print a table unless quiet."""
    started = time.monotonic()
    submissions = discover(source)
    out.mkdir(parents=True, exist_ok=True)
    protect([KIT_ROOT, SOLUTION_DIR, FIXTURES_DIR, source, out])
    warn_if_exposed()
    rubric = load_rubric()
    statics = static_reports(submissions, limits)
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    jobs = min(jobs, max(len(submissions), 1))
    from tqdm import tqdm  # imported here: run_autograder never needs it

    bar = tqdm(
        total=len(submissions), unit="sub", disable=quiet or None, file=sys.stderr
    )
    results: dict[str, GradeResult] = {}
    if jobs == 1:
        cases = load_cases()
        for sub in submissions:
            results[sub.id] = grade_one(sub, statics[sub.id], cases, rubric, limits)
            bar.update()
    else:
        from concurrent.futures import ProcessPoolExecutor  # only batches pay for these
        from multiprocessing import get_context

        with ProcessPoolExecutor(
            jobs,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(limits,),
        ) as pool:
            futures: dict[str, Future[GradeResult]] = {
                sub.id: pool.submit(_grade_in_worker, sub, statics[sub.id])
                for sub in submissions
            }
            for future in futures.values():
                future.add_done_callback(lambda _: bar.update())
            for sub in submissions:
                try:
                    results[sub.id] = futures[sub.id].result()
                except Exception as exc:  # a worker died: keep the row
                    results[sub.id] = failed_row(
                        sub, rubric, "internal_error", f"grader worker failed: {exc!r}"
                    )
    bar.close()
    ordered = [_written(results[sub.id], sub, rubric, out) for sub in submissions]
    write_gradebook(ordered, rubric, out / "gradebook.csv")
    digest = write_class_reports(ordered, rubric, submissions, out)
    elapsed = time.monotonic() - started
    if not quiet:
        print(terminal_table(ordered))
        print(digest)
        print(
            f"Graded {len(ordered)} submission(s) in {elapsed:.1f} s "
            f"with {jobs} worker(s); reports in {out}/"
        )
    return ordered
