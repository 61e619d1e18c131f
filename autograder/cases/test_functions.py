"""Graded cases for the three functions: one test per rubric item, running each of the
item's fixture cases in turn.

The plugin lends ``cases`` (the item's cases, each run inside ``cases.recording``, which
records its outcome), and ``student``, the submission running in its confined child.
"""

from __future__ import annotations

import pytest

from autograder.cases.compare import judge
from autograder.cases.plugin import GradedCases, require
from autograder.confine.remote import StudentModule
from autograder.static.report import StaticReport


def check_each(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    """Call the student's function on each case's inputs and judge what comes back."""
    for case in cases:
        with cases.recording(case):
            outcome = student.call(case.function, list(case.args), case.expected_bytes)
            require(judge(case, outcome, static.text))


@pytest.mark.item("qkv.values")
def test_qkv_values(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)


@pytest.mark.item("qkv.shapes")
def test_qkv_shapes(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)


@pytest.mark.item("sdpa.values")
def test_sdpa_values(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)


@pytest.mark.item("sdpa.stability")
def test_sdpa_stability(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)


@pytest.mark.item("sdpa.shapes")
def test_sdpa_shapes(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)


@pytest.mark.item("mha.values")
def test_mha_values(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)


@pytest.mark.item("mha.shapes")
def test_mha_shapes(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)


@pytest.mark.item("mha.bad_heads")
def test_mha_bad_heads(
    cases: GradedCases, student: StudentModule, static: StaticReport
) -> None:
    check_each(cases, student, static)
