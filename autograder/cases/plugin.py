"""The pytest plugin that turns graded cases into per-case results for one submission.

Graded cases are plain pytest tests in ``autograder/cases``, one per rubric item. A
``@pytest.mark.item(...)`` marker names the item; this plugin lends each such test
(through ``running()``) that item's fixture cases, the submission and its static report,
and records every case's outcome with a message that is safe to show the student. A test
runs its cases in turn, each inside ``GradedCases.recording``; a test without cases (the
static checks) is one outcome, recorded from its report.

The tests take no pytest fixtures: resolving three fixtures for each of a submission's ten
tests (and ending the session-scoped ones after its last) was about a tenth of the
grader's CPU per submission.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from autograder.confine.remote import StudentModule
from autograder.judge.case import Case
from autograder.judge.verdict import Verdict
from autograder.static.report import StaticReport


class CaseFailed(Exception):
    """Raised by a graded test; its message is shown to the student as is."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


def require(verdict: Verdict) -> None:
    """Fail the running graded test unless ``verdict`` passed."""
    if not verdict.passed:
        raise CaseFailed(verdict)


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one graded test for one submission."""

    case_id: str
    item: str
    visibility: str
    verdict: Verdict
    description: str = ""  # a public case's shapes (hidden cases: empty)

    @property
    def passed(self) -> bool:
        """The case passed."""
        return self.verdict.passed

    @property
    def message(self) -> str:
        """Everything said about it, in one line."""
        return self.verdict.message

    @property
    def diagnosis(self) -> str | None:
        """The likely cause (a fixed sentence), if one was found."""
        return self.verdict.diagnosis

    @property
    def returned(self) -> bool:
        """The function gave back arrays (gates mha.bad_heads)."""
        return self.verdict.returned


INTERNAL_ERROR = "the grader hit an internal error on this case (reported to staff)"


def verdict_of(error: BaseException | None, internal_errors: list[str]) -> Verdict:
    """A case's verdict from what it raised (a grader's error is logged for staff)."""
    if error is None:
        return Verdict(True, returned=True)
    if isinstance(error, CaseFailed):
        return error.verdict
    internal_errors.append(
        "".join(traceback.format_exception(type(error), error, error.__traceback__))
    )
    return Verdict(False, INTERNAL_ERROR)


def case_result(case: Case, verdict: Verdict) -> CaseResult:
    """One case's result (a hidden case's shapes are never described)."""
    return CaseResult(
        case_id=case.id,
        item=case.item,
        visibility=case.visibility,
        verdict=verdict,
        description=case.description if case.public else "",
    )


class GradedCases:
    """One rubric item's cases, as its graded test receives them: run each inside
    ``recording(case)``, which records its outcome and goes on to the next case.

    One test per item, rather than one per case, costs pytest's per-test machinery (setup,
    call and teardown hooks, fixture lookups) ten times per submission instead of about
    forty: a quarter of the grader's CPU per submission.
    """

    def __init__(self, cases: list[Case], plugin: GradingPlugin) -> None:
        self.cases, self._plugin = cases, plugin

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    @contextlib.contextmanager
    def recording(self, case: Case) -> Iterator[None]:
        """Record ``case``'s outcome: passed, the ``CaseFailed`` verdict, or an internal
        error (for staff) for anything else it raises."""
        error: Exception | None = None
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - each case's outcome is recorded
            error = exc
        plugin = self._plugin
        plugin.results.append(
            case_result(case, verdict_of(error, plugin.internal_errors))
        )


# The plugin grading on this thread: each session runs its tests on a thread of its own.
_RUNNING = threading.local()


def running() -> GradingPlugin:
    """The plugin of the session grading on this thread: a graded test's way to its
    cases, the submission and its static report."""
    plugin: GradingPlugin | None = getattr(_RUNNING, "plugin", None)
    assert plugin is not None, "no submission is being graded on this thread"
    return plugin


Submission = tuple[StudentModule, StaticReport]
Graded = tuple[list[CaseResult], list[str]]  # the case results, the grader's own errors


class GradingPlugin:
    """Registered once per session with ``pytest.main(..., plugins=[GradingPlugin(...)])``
    (``cases.session``): the session collects the cases once, then runs all of them for
    each submission that ``submissions`` yields, handing each one's results to
    ``on_graded`` before taking the next."""

    def __init__(
        self,
        cases: list[Case],
        submissions: Iterable[Submission],
        on_graded: Callable[[Graded], None],
    ) -> None:
        self._cases = cases
        self._submissions, self._on_graded = submissions, on_graded
        self._module: StudentModule | None = None
        self._static: StaticReport | None = None
        self._cases_of_test: GradedCases | None = None
        self.results: list[CaseResult] = []
        self.internal_errors: list[str] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers", "item(id): the rubric item a graded test scores"
        )

    def cases_of(self, item: str) -> GradedCases:
        """The fixture cases of rubric item ``item``, for its graded test."""
        return GradedCases([case for case in self._cases if case.item == item], self)

    @property
    def cases(self) -> GradedCases:
        """The fixture cases of the running test's rubric item."""
        assert self._cases_of_test is not None, "no graded test is running"
        return self._cases_of_test

    @property
    def module(self) -> StudentModule:
        """The submission being graded, running in its confined child."""
        assert self._module is not None, "no submission is being graded"
        return self._module

    @property
    def static(self) -> StaticReport:
        """What the static checks found in the submission being graded."""
        assert self._static is not None, "no submission is being graded"
        return self._static

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        """Every graded test once per submission, as pytest's own loop runs them.

        The last test's teardown (``nextitem=None``) ends every fixture, session-scoped
        ones included, so each submission's ``student`` and ``static`` are its own.
        """
        if session.testsfailed or not session.items:
            raise session.Interrupted("the graded cases could not be collected")
        items = session.items
        cases = [self.cases_of(rubric_item(item)) for item in items]
        _RUNNING.plugin = self
        try:
            for module, static in self._submissions:
                self._module, self._static = module, static
                self.results, self.internal_errors = [], []
                for index, item in enumerate(items):
                    following = items[index + 1] if index + 1 < len(items) else None
                    self._cases_of_test = cases[index]
                    item.config.hook.pytest_runtest_protocol(
                        item=item, nextitem=following
                    )
                self._on_graded((self.results, self.internal_errors))
        finally:
            _RUNNING.plugin = None
            self._module = self._static = self._cases_of_test = None
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Any:
        yield
        if call.when != "call" and call.excinfo is None:
            return
        item_id = rubric_item(item)
        if not item_id:
            return
        error = call.excinfo.value if call.excinfo else None
        cases = self._cases_of_test.cases if self._cases_of_test is not None else []
        if not cases:
            # A test without cases (typing, formatting) is one outcome.
            self.results.append(
                CaseResult(
                    case_id=item.name,
                    item=item_id,
                    visibility="public",
                    verdict=verdict_of(error, self.internal_errors),
                )
            )
            return
        if error is None:
            return  # its cases recorded their own outcomes
        # It failed outside its cases (the test itself, its setup or teardown): staff are
        # told once, and every case it did not record gets that failure.
        verdict = verdict_of(error, self.internal_errors)
        done = {result.case_id for result in self.results}
        for case in cases:
            if case.id not in done:
                self.results.append(case_result(case, verdict))


def rubric_item(item: pytest.Item) -> str:
    """The rubric item a graded test scores (its ``item`` marker); "" for none."""
    marker = item.get_closest_marker("item")
    return "" if marker is None else str(marker.args[0])
