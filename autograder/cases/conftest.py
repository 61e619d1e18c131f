"""Fixtures of the graded cases: the submission and its static report, for this session."""

from __future__ import annotations

import pytest

from autograder.cases.plugin import GRADING
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
