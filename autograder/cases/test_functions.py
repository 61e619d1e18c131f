"""Graded cases for the three functions: one test per rubric item, running each of the
item's fixture cases in turn.

``running()`` (the plugin of this session) lends each test its item's ``cases`` (each run
inside ``cases.recording``, which records its outcome), the submission running in its
confined child (``module``) and its ``static`` report.
"""

from __future__ import annotations

import pytest

from autograder.cases.compare import judge
from autograder.cases.plugin import require, running


def check_each() -> None:
    """Call the student's function on each of the running test's cases and judge what
    comes back."""
    grading = running()
    cases, student, static = grading.cases, grading.module, grading.static
    for case in cases:
        with cases.recording(case):
            outcome = student.call(case.function, list(case.args), case.expected_bytes)
            require(judge(case, outcome, static.text))


@pytest.mark.item("qkv.values")
def test_qkv_values() -> None:
    check_each()


@pytest.mark.item("qkv.shapes")
def test_qkv_shapes() -> None:
    check_each()


@pytest.mark.item("sdpa.values")
def test_sdpa_values() -> None:
    check_each()


@pytest.mark.item("sdpa.stability")
def test_sdpa_stability() -> None:
    check_each()


@pytest.mark.item("sdpa.shapes")
def test_sdpa_shapes() -> None:
    check_each()


@pytest.mark.item("mha.values")
def test_mha_values() -> None:
    check_each()


@pytest.mark.item("mha.shapes")
def test_mha_shapes() -> None:
    check_each()


@pytest.mark.item("mha.bad_heads")
def test_mha_bad_heads() -> None:
    check_each()
