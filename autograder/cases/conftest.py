"""Fixtures of the graded cases: the item's cases, the submission and its static report."""

from __future__ import annotations

import pytest

from autograder.cases.plugin import GRADING, GradedCases
from autograder.confine.remote import StudentModule
from autograder.static.report import StaticReport


@pytest.fixture(scope="session")
def student(pytestconfig: pytest.Config) -> StudentModule:
    """The submission, running in its confined child."""
    return pytestconfig.stash[GRADING].module


@pytest.fixture(scope="session")
def static(pytestconfig: pytest.Config) -> StaticReport:
    """What the static checks found."""
    return pytestconfig.stash[GRADING].static


@pytest.fixture
def cases(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> GradedCases:
    """The fixture cases of the running test's rubric item (its ``item`` marker)."""
    marker = request.node.get_closest_marker("item")
    assert marker is not None, "a graded test names its rubric item"
    return pytestconfig.stash[GRADING].cases_of(str(marker.args[0]))
