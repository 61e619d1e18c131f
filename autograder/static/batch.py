"""The static checks of a whole batch: every submission parsed at once, then one mypy run and
one black worker for all, each in its own process, and each file's report handed on as
soon as both have spoken about it.

mypy streams its verdicts file by file and black checks the files in turn (a thread here
feeds its worker), so a batch starts grading its first files while mypy and black are
still on the others, and the grader's own process stays free for its imports and the
confined runs meanwhile. Both tools' answers are kept by text (``static/answers.py``): a
file checked before, in a regrade or graded again alone, starts neither tool.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from autograder.config import KIT_ROOT, Limits
from autograder.contract.source_text import reading
from autograder.intake.submission import Submission
from autograder.static.mypy_run import MypyRun, mypy_answers
from autograder.static.read import read_submission
from autograder.static.report import StaticReport

MYPY_CACHE = KIT_ROOT / ".cache" / "mypy"  # mypy's own (numpy's stubs, checked files)
MYPY_ANSWERS = KIT_ROOT / ".cache" / "mypy-answers"  # its verdicts, by text
BLACK_CACHE = KIT_ROOT / ".cache" / "black"  # black's answers, by text
BLACK, MYPY = "black", "mypy"


def parsed(submission: Submission) -> StaticReport:
    """A submission decoded and parsed in this process (black and mypy still to come)."""
    with reading(submission.line_map):  # a notebook's syntax error names its cell
        if submission.problem is not None:
            return StaticReport(
                fatal=submission.problem, fatal_kind=submission.problem_kind
            )
        return read_submission(
            submission.source, black=False, file_name=submission.file_name
        )


class StaticChecks:
    """The static checks of a batch, under way from construction.

    Every file is parsed at once (or ``reports`` holds them parsed already); mypy (one
    process for all) and black (one worker, fed in the order given, so the files graded
    first are formatted first) then run beside the caller. ``settled()`` yields each
    submission id as soon as its report is complete; ``finish()`` waits for the rest and
    ends both tools. Start any worker processes by ``fork`` before constructing this: it
    starts threads.
    """

    def __init__(
        self,
        submissions: list[Submission],
        limits: Limits,
        reports: dict[str, StaticReport] | None = None,
    ) -> None:
        self.reports = (
            reports if reports is not None else {s.id: parsed(s) for s in submissions}
        )
        self._events: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        checked = [key for key, r in self.reports.items() if r.fatal is None]
        self._waiting = {key: {BLACK, MYPY} for key in checked}
        self._yielded: set[str] = set()
        self._mypy = MypyRun(
            {key: self.reports[key].text for key in checked},
            MYPY_CACHE,
            limits,
            on_settled=lambda key: self._events.put((MYPY, key)),
            answers=mypy_answers(MYPY_ANSWERS),
        )
        # Imported now, after mypy has started (the worker's framing loads numpy), and in
        # this thread: one importing beside another could meet a half-imported module.
        from autograder.static.black_run import BlackRun, black_answers

        def black_run() -> BlackRun:
            return BlackRun(limits, black_answers(BLACK_CACHE))

        self._black_run = black_run
        self.formatted = threading.Event()  # black's worker has ended, its memory free
        self._black = threading.Thread(
            target=self._format, args=(checked,), daemon=True
        )
        self._black.start()

    def _format(self, keys: list[str]) -> None:
        """black on each file in turn (in this thread; black itself in its worker)."""
        done = 0
        try:
            with self._black_run() as formatting:
                for key in keys:
                    formatting.check(self.reports[key])
                    self._events.put((BLACK, key))
                    done += 1
        finally:  # an unexpected failure leaves the rest "formatting not checked"
            for key in keys[done:]:
                self._events.put((BLACK, key))
            self.formatted.set()

    def settled(self) -> Iterator[str]:
        """Each submission id once, as soon as its report is complete."""
        for key in self.reports:
            if key not in self._waiting and key not in self._yielded:
                self._yielded.add(key)
                yield key  # it could not be parsed: nothing more will come
        while any(self._waiting.values()):
            tool, key = self._events.get()
            self._waiting[key].discard(tool)
            if tool == MYPY:
                self._mypy.record_one(key, self.reports[key])
            if not self._waiting[key] and key not in self._yielded:
                self._yielded.add(key)
                yield key

    def finish(self) -> dict[str, StaticReport]:
        """Every report, complete; both tools ended."""
        for _ in self.settled():
            pass
        self._black.join()
        self._mypy.record(self.reports)
        return self.reports


def static_reports(
    submissions: list[Submission], limits: Limits | None = None
) -> dict[str, StaticReport]:
    """Parse, format-check and type-check ``submissions``; every report, complete."""
    return StaticChecks(submissions, limits or Limits()).finish()
