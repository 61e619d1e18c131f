"""Grade a whole folder: intake, then the static checks (one mypy run and one black worker for
all) with the confined runs starting as soon as each file's checks are done, in worker
processes forked from this one (or here, in turn, for one job); the preflight's
known-good is graded beside them. Then reports are written by this (the main) process,
merged into what OUT already holds.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

from autograder.config import FIXTURES_DIR, KIT_ROOT, SOLUTION_DIR, Limits
from autograder.confine.protect import exposed_assignments, protect
from autograder.intake.discover import LOOKED_FOR, discover
from autograder.intake.submission import Intake, IntakeError, Submission
from autograder.pipeline.preflight import (
    EnvironmentFault,
    grade_in_turn,
    known_good,
    prove,
)
from autograder.report.charts import load_in_background
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
from autograder.report.similarity import measured
from autograder.report.summary import write_class_reports
from autograder.report.terminal import terminal_table
from autograder.score.result import GradeResult
from autograder.score.rubric import Rubric, load_rubric
from autograder.static.batch import StaticChecks, parsed
from autograder.static.report import StaticReport

# The Makefile's own variables: paths and counts, nothing to keep secret.
MAKE_VARIABLES = frozenset(
    {"SUBMISSIONS", "OUT", "JOBS", "PYTHON", "VENV", "SEED", "FRESH"}
)

_worker: dict[str, object] = {}  # set before the workers are forked: they inherit it


class NothingToGrade(IntakeError):
    """SUBMISSIONS holds no submission at all."""


def _grade_in_worker(submission: Submission, static: StaticReport) -> GradeResult:
    from autograder.pipeline.grading import grade_one

    cases = _worker["cases"]
    rubric = _worker["rubric"]
    limits = _worker["limits"]
    assert isinstance(rubric, Rubric) and isinstance(limits, Limits)
    assert isinstance(cases, list)
    return grade_one(submission, static, cases, rubric, limits)


class _Probe(threading.Thread):
    """``detect_confinement`` and ``warm_zygote`` in a thread; ``join`` raises what they
    raised (a sandbox that cannot work stops the batch as before)."""

    def __init__(self, limits: Limits) -> None:
        # Their modules are imported here, in the caller's thread, which goes on importing
        # the kit's others: one thread could otherwise meet a module the other has only
        # half imported.
        from autograder.confine.forked import warm_zygote
        from autograder.confine.probe import detect_confinement

        def work() -> None:
            warm_zygote(detect_confinement(), limits)

        super().__init__(name="probe", daemon=True)
        self.work = work
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # noqa: B036 - raised again in the caller's thread
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def _announce(finished: queue.SimpleQueue[str], key: str, _: object) -> None:
    """A future's done callback (in the pool's thread): its key, for ``collect``."""
    finished.put(key)


def grade_by_workers(
    submissions: list[Submission],
    limits: Limits,
    jobs: int,
    progress: Callable[[], None],
    on_graded: Callable[[Submission, GradeResult], GradeResult] | None = None,
    probe: _Probe | None = None,
) -> dict[str, GradeResult]:
    """Grade ``submissions`` in ``jobs`` worker processes, each as soon as its static
    checks are done, the known-good first among them; hand each result to ``on_graded``
    (which returns the result to keep) as soon as it is in, once the known-good has
    vouched for the run, so reports are written while the workers grade the rest.

    The workers are forked before the static tools start (no thread exists yet), from a
    process that has already imported pytest and numpy, loaded the cases, probed the
    confinement and started the zygote (``probe``: started by the caller, else here):
    they start at once, share those pages and one zygote. Raises ``EnvironmentFault``
    (after cancelling what has not started, and before any student's result reaches
    ``on_graded``) when the known-good is not full.
    """
    from concurrent.futures import ProcessPoolExecutor  # only batches pay for these
    from multiprocessing import get_context

    from autograder.cases.casebook import load_cases
    from autograder.pipeline.grading import failed_row

    rubric = load_rubric()
    _worker.update(cases=load_cases(), rubric=rubric, limits=limits)
    good = known_good()
    by_id = {sub.id: sub for sub in [good, *submissions]}
    # Probed once, for the batch: every worker inherits the answer, and connects to the
    # probe's zygote rather than starting one of its own. The files are parsed while the
    # zygote starts; the probe's thread has ended before the workers are forked.
    probe = probe or _Probe(limits)
    parsed_reports = {sub.id: parsed(sub) for sub in [good, *submissions]}
    probe.join()
    futures: dict[str, Future[GradeResult]] = {}
    finished: queue.SimpleQueue[str] = queue.SimpleQueue()
    results: dict[str, GradeResult] = {}
    held: list[str] = []  # finished before the known-good's proof
    taken: set[str] = set()
    faults: list[EnvironmentFault] = []

    def outcome(key: str) -> GradeResult:
        try:
            return futures[key].result()
        except Exception as exc:  # a worker died: keep the row
            return failed_row(
                by_id[key], rubric, "internal_error", f"grader worker failed: {exc!r}"
            )

    def collect(block: bool) -> None:
        """Take the results that are in (waiting for all when ``block``)."""
        while len(taken) < len(futures) and (block or not finished.empty()):
            key = finished.get()
            taken.add(key)
            if key != good.id:
                held.append(key)
            elif not faults:
                try:
                    prove(outcome(key), checks.reports[key])
                except EnvironmentFault as fault:
                    faults.append(fault)
                    return
            if good.id not in taken:
                continue  # no student's result is handed on before the proof
            for student in held:
                result = outcome(student)
                results[student] = (
                    on_graded(by_id[student], result) if on_graded else result
                )
            held.clear()

    with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
        pool.submit(int).result()  # every worker forked now, before any thread starts
        checks = StaticChecks([good, *submissions], limits, parsed_reports)
        charts: threading.Thread | None = None
        for key in checks.settled():
            if faults:
                continue  # the run is broken: start nothing more
            futures[key] = pool.submit(
                _grade_in_worker, by_id[key], checks.reports[key]
            )
            futures[key].add_done_callback(functools.partial(_announce, finished, key))
            if key != good.id:
                futures[key].add_done_callback(lambda _: progress())
            collect(block=False)
            if charts is None and checks.formatted.is_set() and not faults:
                # black's worker has ended and its memory is free: the class charts'
                # import runs while mypy and the workers finish the class (mypy, the
                # slower of the two tools, sets a new class's pace) instead of after.
                charts = load_in_background()
        checks.finish()
        if not faults:
            if charts is None:
                load_in_background()
            collect(block=True)
        if faults:
            pool.shutdown(wait=True, cancel_futures=True)
            raise faults[0]
    return results


@contextlib.contextmanager
def progress_bar(total: int, quiet: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for a batch (a function to call per graded submission);
    none for a single submission, which would not see it move."""
    if quiet or total < 2:
        yield lambda: None
        return
    from tqdm import tqdm  # imported here: run_autograder never needs it

    tqdm.monitor_interval = (
        0  # no monitor thread: workers are forked after the bar exists
    )
    with tqdm(total=total, unit="sub", disable=None, file=sys.stderr) as bar:

        def advance() -> None:
            bar.update()

        yield advance


def warn_if_exposed() -> None:
    """In uid mode, tell staff which command-line values student code could read."""
    names = [n for n in exposed_assignments() if n not in MAKE_VARIABLES]
    if not names:
        return
    from autograder.confine.mode import SandboxUnavailable
    from autograder.confine.probe import detect_confinement

    try:
        mode = detect_confinement().mode
    except SandboxUnavailable:  # no student code ran: nothing was exposed to it
        return
    if mode == "uid":
        print(
            f"mhsa: warning: {', '.join(names)} set on a command line (e.g. `make grade "
            f"{names[0]}=...`): without namespaces student code can read every "
            "process's command line (/proc/*/cmdline); pass secrets through the "
            "environment or a file instead",
            file=sys.stderr,
        )


class ReportWriter:
    """Writes each submission's reports into OUT once (``--fresh``: OUT's earlier reports
    are cleared before the first), as soon as its result is in. In a batch that is while
    the workers grade the rest, so the class reports' share of each submission (its
    similarity fingerprints) is done then too, not at the end. (matplotlib's import is
    left to the end: imported during the batch, it raised the tree's peak memory.)
    """

    def __init__(self, out: Path, fresh: bool) -> None:
        self.out = out
        self.left: list[str] = []  # what --fresh left in OUT (not the kit's)
        self._done: set[str] = set()
        self._cleared = not fresh

    @functools.cached_property
    def rubric(self) -> Rubric:
        """The rubric, loaded when the first report is written: grading loads it too,
        after its static tools have started (jsonschema's import is not on their way).
        """
        return load_rubric()

    def write(self, submission: Submission, result: GradeResult) -> GradeResult:
        """Write ``result``'s reports and take the submission's fingerprints; the result
        to keep (a failed row if writing failed)."""
        if not self._cleared:
            self.left = clear_out(self.out)
            self._cleared = True
        self._done.add(submission.id)
        written = _written(result, submission, self.rubric, self.out)
        if submission.problem is None:
            # The class reports measure it again, and say so, if this fails.
            with contextlib.suppress(Exception):
                measured(submission.source)
        return written

    def written(self, submission: Submission, result: GradeResult) -> GradeResult:
        """``result`` once written (by ``write`` already, or now)."""
        if submission.id in self._done:
            return result
        return self.write(submission, result)


def _written(
    result: GradeResult, submission: Submission, rubric: Rubric, out: Path
) -> GradeResult:
    """Write one submission's reports; if that fails, its row says so and the batch goes on."""
    from autograder.pipeline.grading import failed_row
    from autograder.report.grade_record import write_record

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
    from autograder.report.grade_record import read_record  # pytest's CaseResult

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
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    jobs = min(jobs, max(len(submissions), 1))
    # A batch's zygote starts now, once OUT and the kit are protected: it boots while
    # this process loads the cases and parses the files. (One file is graded in turn,
    # which starts mypy before anything else and probes afterwards.)
    probe = _Probe(limits) if jobs > 1 else None
    writer = ReportWriter(out, fresh)
    try:
        with progress_bar(len(submissions), quiet) as advance:
            if jobs == 1:
                results = grade_in_turn(submissions, limits, advance)
            else:  # each student's reports are written as the workers grade the rest
                results = grade_by_workers(
                    submissions, limits, jobs, advance, writer.write, probe
                )
    finally:
        # Not before grading: learning the mode loads numpy, which a new text's mypy
        # should not wait for. Told even when grading failed: student code may have run.
        warn_if_exposed()
    rubric = writer.rubric
    ordered = [writer.written(sub, results[sub.id]) for sub in submissions]
    left = writer.left
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
