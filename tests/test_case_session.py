"""One pytest session per grader process (``cases.session``): submissions graded one after
another by the same session keep nothing of each other, and a session that ends costs only
the submission it was grading, as a fault of the grader's. One test per rubric item
(``cases.plugin.GradedCases``): a grader's error on one case costs that case alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autograder.cases import plugin
from autograder.cases.casebook import load_cases
from autograder.cases.plugin import INTERNAL_ERROR, GradingPlugin
from autograder.cases.session import CaseSession, SessionEnded, case_session
from autograder.confine.remote import StudentModule
from autograder.judge.case import Case
from autograder.pipeline.grading import grade
from autograder.score.result import GradeResult
from autograder.score.rubric import load_rubric
from autograder.static.read import read_submission
from tests.conftest import EXAMPLES, REFERENCE, TEST_LIMITS

CASES = load_cases()
STATIC = ("typing", "formatting")


def graded(path: Path, cases: list[Case] = CASES) -> GradeResult:
    """``path`` graded through this process's session."""
    source = path.read_bytes()
    static = read_submission(source, black=False, file_name=path.name)
    return grade(
        path.stem, "", path.name, source, static, cases, load_rubric(), TEST_LIMITS
    )


def outcomes(result: GradeResult) -> list[tuple[str, bool, str]]:
    """Every case's outcome and message."""
    return [(r.case_id, r.passed, r.message) for i in result.items for r in i.results]


def ran_right(result: GradeResult) -> bool:
    """Every case that runs the submission passed (typing and formatting need mypy and
    black, not run here)."""
    return all(r.passed for i in result.items if i.id not in STATIC for r in i.results)


def test_one_session_grades_one_submission_after_another_keeping_nothing() -> None:
    order = [REFERENCE, EXAMPLES / "no_scale.py", REFERENCE, EXAMPLES / "skeleton.py"]
    alone = []
    for path in order:  # each in a session of its own, as every submission once was
        alone.append(graded(path, list(CASES)))
    session = case_session(CASES)
    results = [graded(path) for path in order]
    assert case_session(CASES) is session and session.alive  # one pytest.main for all
    for result, reference in zip(results, alone):
        assert outcomes(result) == outcomes(reference)
        assert (result.score, result.status) == (reference.score, reference.status)
    assert ran_right(results[2])
    assert results[0].score == results[2].score > results[1].score > results[3].score
    assert "without the scale" in " ".join(m for _, _, m in outcomes(results[1]))


@pytest.mark.filterwarnings("ignore::pluggy.PluggyTeardownRaisedWarning")
def test_a_session_that_ends_fails_only_its_submission_as_the_graders_fault(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cases = list(CASES)  # a session of its own, not the one other tests share

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the grader's plugin")

    with monkeypatch.context() as patch:
        patch.setattr(plugin, "CaseResult", broken)
        session = case_session(cases)
        result = graded(REFERENCE, cases)
    assert result.status == "internal_error" and result.internal_errors
    assert not any(passed for _, passed, _ in outcomes(result))
    assert not session.alive
    with pytest.raises(SessionEnded):
        session.run(None, None)  # type: ignore[arg-type]
    again = graded(REFERENCE, cases)
    assert again.status == "ok" and ran_right(again)
    assert case_session(cases) is not session


def test_a_closed_session_ends_its_pytest_run() -> None:
    session = CaseSession(list(CASES))
    session.close()
    assert not session.alive
    assert session.exit_code == pytest.ExitCode.OK


def test_a_grader_error_on_one_case_costs_that_case_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing = next(case for case in CASES if case.item == "sdpa.values")
    original = StudentModule.call

    def call(self: StudentModule, function: str, args: list[Any], nbytes: int) -> Any:
        if args and args[0] is failing.args[0] and function == failing.function:
            raise RuntimeError("a bug in the grader's call")
        return original(self, function, args, nbytes)

    monkeypatch.setattr(StudentModule, "call", call)
    result = graded(REFERENCE, list(CASES))
    assert result.status == "internal_error"
    assert any("a bug in the grader's call" in e for e in result.internal_errors)
    by_case = {r.case_id: r for item in result.items for r in item.results}
    assert by_case[failing.id].message == INTERNAL_ERROR
    others = [r for i in result.items if i.id not in STATIC for r in i.results]
    assert all(r.passed for r in others if r.case_id != failing.id)
    assert len(others) == len(CASES)  # every case has exactly one result


def test_a_test_that_fails_outside_its_cases_fails_every_case_it_did_not_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: GradingPlugin) -> StudentModule:
        raise RuntimeError("a bug in the grader's plugin")

    monkeypatch.setattr(GradingPlugin, "module", property(broken))
    result = graded(REFERENCE, list(CASES))
    assert result.status == "internal_error"
    ran = [r for i in result.items if i.id not in STATIC for r in i.results]
    assert len(ran) == len(CASES)
    assert {r.message for r in ran} == {INTERNAL_ERROR}
    # Staff are told once per test that failed, not once per case.
    told = [e for e in result.internal_errors if "a bug in the grader's plugin" in e]
    assert len(told) == len({case.item for case in CASES})
    typing = next(i for i in result.items if i.id == "typing")
    assert typing.results and typing.results[0].message != INTERNAL_ERROR
