"""One pytest session per grader process, running the graded cases for one submission after
another.

Starting a session (configuring pytest, registering its plugins, collecting the cases)
cost about a third of the grader's CPU per submission when every submission had a
``pytest.main`` of its own. A ``CaseSession`` runs ``pytest.main`` once, in a thread of its
own, whose loop (``GradingPlugin.pytest_runtestloop``) waits for the next submission, runs
every graded test for it as pytest's own loop would, and hands the results back. Each
submission still has its own confined child (``StudentModule``), static report and result
lists: the plugin replaces them all before the next submission's first test.

A session that ends (pytest exits, a hook raises) fails the submission it was running with
``SessionEnded``, a fault of the grader's; the next submission starts a new one.
"""

from __future__ import annotations

import os
import queue
import threading

import pytest

from autograder.cases.plugin import Graded, GradingPlugin, Submission
from autograder.config import CASES_DIR
from autograder.confine.remote import StudentModule
from autograder.judge.case import Case
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
    # Per-test hooks the graded cases never need: output capture (the child's output
    # reaches the grader through its pipe), skip and xfail marks, assertion rewriting
    # (the cases raise CaseFailed, never a bare assert), and fixtures they do not use.
    "capture",
    "skipping",
    "assertion",
    "legacypath",
    "tmpdir",
    "monkeypatch",
    "recwarn",
)

PYTEST_ARGS = [
    str(CASES_DIR),
    "-c",
    str(CASES_DIR / "pytest.ini"),
    "--rootdir",
    str(CASES_DIR),
    "-p",
    "no:cacheprovider",
    "-p",
    "no:terminal",
    "-p",
    "no:warnings",
    "-p",
    "no:faulthandler",
    "--import-mode=importlib",
    # No third-party plugins, and none of the built-in ones the graded cases do not use;
    # unraisableexception alone costs a forced gc.collect() several times per session.
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


class SessionEnded(RuntimeError):
    """The pytest session stopped before it graded the submission (the grader's fault)."""


class CaseSession:
    """A pytest session over ``cases``, serving one submission at a time to ``run``."""

    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases
        self.exit_code: int | pytest.ExitCode | str | None = None
        self._submissions: queue.SimpleQueue[Submission | None] = queue.SimpleQueue()
        self._graded: queue.SimpleQueue[Graded | None] = queue.SimpleQueue()
        self._ended = False
        plugin = GradingPlugin(
            cases, iter(self._submissions.get, None), self._graded.put
        )
        self._thread = threading.Thread(
            target=self._serve, args=(plugin,), name="pytest-session", daemon=True
        )
        self._thread.start()

    def _serve(self, plugin: GradingPlugin) -> None:
        try:
            self.exit_code = pytest.main(
                PYTEST_ARGS, plugins=[plugin, ShortTracebacks()]
            )
        except BaseException as exc:  # noqa: BLE001 - told to the waiting caller
            self.exit_code = repr(exc)
        finally:
            self._graded.put(None)  # wakes a caller waiting for a submission's results

    @property
    def alive(self) -> bool:
        """It can still grade a submission."""
        return not self._ended and self._thread.is_alive()

    def run(self, module: StudentModule, static: StaticReport) -> Graded:
        """Every graded case for one submission: its results and the grader's errors."""
        if not self.alive:
            raise SessionEnded(f"the pytest session had ended ({self.exit_code!r})")
        self._submissions.put((module, static))
        graded = self._graded.get()
        if graded is None:
            self._ended = True
            raise SessionEnded(f"pytest exited with {self.exit_code!r}")
        return graded

    def close(self) -> None:
        """End the session (its pytest.main returns) and wait for it."""
        if self.alive:
            self._submissions.put(None)
            self._thread.join()
        self._ended = True


_current: tuple[int, CaseSession] | None = None


def case_session(cases: list[Case]) -> CaseSession:
    """This process's session over ``cases``, started on first use (and again after one
    ended, or in a forked process, which has none of its parent's threads)."""
    global _current
    if _current is not None:
        pid, session = _current
        if pid == os.getpid() and session.cases is cases and session.alive:
            return session
        if pid == os.getpid():
            session.close()
    session = CaseSession(cases)
    _current = (os.getpid(), session)
    return session
