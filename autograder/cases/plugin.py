"""The pytest plugin that turns graded cases into per-case results for one submission.

Graded cases are plain pytest tests in ``autograder/cases``. A ``@pytest.mark.item(...)``
marker names the rubric item; this plugin parametrizes each such test with that item's
fixture cases, lends it (through ``cases/conftest.py``) the submission and its static report,
and records every outcome with a message that is safe to show the student.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
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


GRADING = pytest.StashKey["GradingPlugin"]()
"""Where the running session finds its plugin (``autograder/cases/conftest.py`` reads it)."""


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
        self.results: list[CaseResult] = []
        self.internal_errors: list[str] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers", "item(id): the rubric item a graded test scores"
        )
        config.stash[GRADING] = self

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        marker = metafunc.definition.get_closest_marker("item")
        if marker is not None and "case" in metafunc.fixturenames:
            chosen = [case for case in self._cases if case.item == marker.args[0]]
            metafunc.parametrize("case", chosen, ids=[case.id for case in chosen])

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
        """Every collected case once per submission, as pytest's own loop runs them.

        The last case's teardown (``nextitem=None``) ends every fixture, session-scoped
        ones included, so each submission's ``student`` and ``static`` are its own.
        """
        if session.testsfailed or not session.items:
            raise session.Interrupted("the graded cases could not be collected")
        items = session.items
        for module, static in self._submissions:
            self._module, self._static = module, static
            self.results, self.internal_errors = [], []
            for index, item in enumerate(items):
                following = items[index + 1] if index + 1 < len(items) else None
                item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            self._on_graded((self.results, self.internal_errors))
        self._module = self._static = None
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Any:
        yield
        if call.when != "call" and call.excinfo is None:
            return
        marker = item.get_closest_marker("item")
        if marker is None:
            return
        params = getattr(item, "callspec", None)
        case: Case | None = params.params.get("case") if params else None
        error = call.excinfo.value if call.excinfo else None
        if error is None:
            verdict = Verdict(True, returned=True)
        elif isinstance(error, CaseFailed):
            verdict = error.verdict
        else:
            verdict = Verdict(
                False,
                "the grader hit an internal error on this case (reported to staff)",
            )
            self.internal_errors.append(
                "".join(
                    traceback.format_exception(type(error), error, error.__traceback__)
                )
            )
        self.results.append(
            CaseResult(
                case_id=case.id if case else item.name,
                item=str(marker.args[0]),
                visibility=case.visibility if case else "public",
                verdict=verdict,
                description=case.description if case and case.public else "",
            )
        )
