"""Graded checks that read the submission without running it: typing and formatting."""

from __future__ import annotations

import pytest

from autograder.cases.plugin import require, running
from autograder.judge.verdict import Verdict
from autograder.static.report import typing_problems


@pytest.mark.item("typing")
def test_annotations_and_mypy() -> None:
    static = running().static
    problems = typing_problems(static)
    if static.mypy_fault and problems == [static.mypy_note]:
        raise RuntimeError(static.mypy_note)  # the grader's problem: for staff, no zero
    require(Verdict(not problems, "; ".join(problems)))


@pytest.mark.item("formatting")
def test_black_formatting() -> None:
    static = running().static
    require(Verdict(static.black_clean is True, static.black_note or "not checked"))
