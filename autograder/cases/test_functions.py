"""Graded cases for the three functions: one test per rubric item, one run per fixture case.

The plugin parametrizes ``case`` from the fixtures of the marked item and provides
``student``, the submission running in its confined child.
"""

from __future__ import annotations

import pytest

from autograder.cases.compare import judge
from autograder.cases.plugin import require
from autograder.confine.remote import StudentModule
from autograder.judge.case import Case
from autograder.static.report import StaticReport


def check(case: Case, student: StudentModule, static: StaticReport) -> None:
    """Call the student's function on the case's inputs and judge what comes back."""
    outcome = student.call(case.function, list(case.args), case.expected_bytes)
    require(judge(case, outcome, static.text))


@pytest.mark.item("qkv.values")
def test_qkv_values(case: Case, student: StudentModule, static: StaticReport) -> None:
    check(case, student, static)


@pytest.mark.item("qkv.shapes")
def test_qkv_shapes(case: Case, student: StudentModule, static: StaticReport) -> None:
    check(case, student, static)


@pytest.mark.item("sdpa.values")
def test_sdpa_values(case: Case, student: StudentModule, static: StaticReport) -> None:
    check(case, student, static)


@pytest.mark.item("sdpa.stability")
def test_sdpa_stability(
    case: Case, student: StudentModule, static: StaticReport
) -> None:
    check(case, student, static)


@pytest.mark.item("sdpa.shapes")
def test_sdpa_shapes(case: Case, student: StudentModule, static: StaticReport) -> None:
    check(case, student, static)


@pytest.mark.item("mha.values")
def test_mha_values(case: Case, student: StudentModule, static: StaticReport) -> None:
    check(case, student, static)


@pytest.mark.item("mha.shapes")
def test_mha_shapes(case: Case, student: StudentModule, static: StaticReport) -> None:
    check(case, student, static)


@pytest.mark.item("mha.bad_heads")
def test_mha_bad_heads(
    case: Case, student: StudentModule, static: StaticReport
) -> None:
    check(case, student, static)
