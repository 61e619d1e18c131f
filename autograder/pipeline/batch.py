"""Grade a whole folder: intake, static checks and one mypy run for all (with the preflight's
known-good submission graded meanwhile), then confined runs in parallel worker processes,
then reports written by this (the main) process, merged into what OUT already holds."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import Future
from pathlib import Path

from autograder.cases.casebook import load_cases
from autograder.config import FIXTURES_DIR, KIT_ROOT, SOLUTION_DIR, Limits
from autograder.confine.probe import detect_confinement
from autograder.confine.protect import exposed_assignments, protect
from autograder.intake.discover import LOOKED_FOR, discover
from autograder.intake.submission import Intake, IntakeError, Submission
from autograder.pipeline.grading import failed_row, grade_one
from autograder.pipeline.preflight import checked_statically
from autograder.report.grade_record import read_record, write_record
from autograder.report.gradebook import (
    GRADEBOOK_CSV,
    Gradebook,
    graded_now,
    merge,
    new_rows,
    read_gradebook,
    write_gradebook,
    write_imports,
)
from autograder.report.manifest_csv import MANIFEST_CSV, write_manifest
from autograder.report.out_folder import clear_out, write_submission
from autograder.report.summary import write_class_reports
from autograder.report.terminal import terminal_table
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric, load_rubric
from autograder.static.report import StaticReport

# The Makefile's own variables: paths and counts, nothing to keep secret.
MAKE_VARIABLES = frozenset(
    {"SUBMISSIONS", "OUT", "JOBS", "PYTHON", "VENV", "SEED", "FRESH"}
)

_worker: dict[str, object] = {}


class NothingToGrade(IntakeError):
    """SUBMISSIONS holds no submission at all."""


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
        write_record(result, submission, out / result.submission)
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
            write_record(failed, submission, out / failed.submission)
        except Exception:  # noqa: S110 - the gradebook row still tells staff
            pass
        return failed


def nothing_found(source: Path, intake: Intake) -> NothingToGrade:
    """The error for a SUBMISSIONS without a single submission."""
    ignored = intake.ignored
    shown = ", ".join(f"{e.path} ({e.detail})" for e in ignored[:3])
    more = f" and {len(ignored) - 3} more" if len(ignored) > 3 else ""
    found = f"; ignored: {shown}{more}" if ignored else "; it holds no file at all"
    return NothingToGrade(f"no submission found in {source} ({LOOKED_FOR}){found}")


def whole_class(
    out: Path,
    book: Gradebook,
    submissions: list[Submission],
    results: list[GradeResult],
) -> tuple[list[tuple[GradeResult, Submission]], list[str]]:
    """This run's results with those of every kept gradebook row, for the class reports;
    and the kept submissions whose record could not be read (left out of them)."""
    everyone = list(zip(results, submissions))
    graded = {sub.id.casefold() for sub in submissions}
    kept = dict.fromkeys(
        row["submission"]
        for row in book.rows
        if row["submission"].casefold() not in graded
    )
    unrecorded = []
    for submission_id in kept:
        record = read_record(out / submission_id)
        if record is None:
            unrecorded.append(submission_id)
        else:
            everyone.append(record)
    everyone.sort(key=lambda pair: pair[0].submission.casefold())
    return everyone, unrecorded


def grade_folder(
    source: Path,
    out: Path,
    jobs: int,
    limits: Limits,
    quiet: bool = False,
    fresh: bool = False,
) -> list[GradeResult]:
    """Grade every submission under ``source`` into ``out``; print a table unless quiet.

    Raises ``IntakeError`` (SUBMISSIONS unusable, or holding nothing),
    ``GradebookError`` (OUT's gradebook cannot be merged) and ``EnvironmentFault`` (the
    preflight failed) before any student's report is written.
    """
    started = time.monotonic()
    graded_at = graded_now()
    intake = discover(source)
    old = None if fresh else read_gradebook(out / GRADEBOOK_CSV)
    if not intake.submissions:
        raise nothing_found(source, intake)
    submissions = intake.submissions
    out.mkdir(parents=True, exist_ok=True)
    protect([KIT_ROOT, SOLUTION_DIR, FIXTURES_DIR, source, out])
    warn_if_exposed()
    rubric = load_rubric()
    cases = load_cases()
    statics = checked_statically(submissions, cases, rubric, limits)
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    jobs = min(jobs, max(len(submissions), 1))
    from tqdm import tqdm  # imported here: run_autograder never needs it

    bar = tqdm(
        total=len(submissions), unit="sub", disable=quiet or None, file=sys.stderr
    )
    results: dict[str, GradeResult] = {}
    if jobs == 1:
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
    left = clear_out(out) if fresh else []
    ordered = [_written(results[sub.id], sub, rubric, out) for sub in submissions]
    rows = [
        row
        for sub, result in zip(submissions, ordered)
        for row in new_rows(sub, result, rubric, graded_at)
    ]
    book, counts = merge(old, rows, rubric)
    write_gradebook(book, out / GRADEBOOK_CSV)
    write_imports(book, out, rubric.title, rubric.max_score)
    write_manifest(intake.manifest, out / MANIFEST_CSV)
    everyone, unrecorded = whole_class(out, book, submissions, ordered)
    digest = write_class_reports(
        [result for result, _ in everyone],
        rubric,
        [sub for _, sub in everyone],
        out,
        intake.ignored,
        unrecorded,
    )
    elapsed = time.monotonic() - started
    if not quiet:
        print(terminal_table(ordered, submissions))
        print(digest)
        print(
            f"Found {len(submissions)} submission(s); {len(intake.ignored)} file(s) "
            f"ignored (each listed with its reason in {out / MANIFEST_CSV})"
        )
        if left:
            print(
                f"--fresh left {len(left)} entry(ies) the kit did not write: {left[:5]}"
            )
        print(counts.describe())
        print(
            f"Graded {len(ordered)} submission(s) in {elapsed:.1f} s "
            f"with {jobs} worker(s); reports in {out}/"
        )
    return ordered
