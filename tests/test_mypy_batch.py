"""One mypy run per batch, beside black, on a cache that concurrent batches share safely."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.config import Limits
from autograder.static.black_run import BlackRun
from autograder.static.mypy_run import MYPY_LOCK_NAME, MypyRun, run_mypy
from autograder.static.read import read_submission

TYPED = "def double(x: int) -> int:\n    return 2 * x\n"
WRONG = "def name(x: int) -> str:\n    return x  # type: ignore\n"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for this module's tests (the first run fills it)."""
    return tmp_path_factory.mktemp("mypy-cache")


def lock_is_free(cache_dir: Path) -> bool:
    """Whether another batch could take the cache lock right now."""
    with (cache_dir / MYPY_LOCK_NAME).open("a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


@pytest.fixture
def held_lock(cache: Path) -> Iterator[None]:
    """Another batch holding the cache lock for the duration of a test."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / MYPY_LOCK_NAME).open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def test_identical_submissions_are_checked_once_and_each_gets_the_errors(
    cache: Path,
) -> None:
    checked = run_mypy({"a": WRONG, "b": TYPED, "c": WRONG}, cache)
    assert checked["b"] == []
    assert checked["a"] == checked["c"]
    assert len(checked["a"]) == 1 and "Incompatible return value" in checked["a"][0]


def test_a_batch_holds_the_cache_lock_until_its_mypy_is_collected(cache: Path) -> None:
    running = MypyRun({"a": TYPED}, cache)
    assert not lock_is_free(cache)
    assert running.result() == {"a": []}
    assert lock_is_free(cache)


@pytest.mark.usefixtures("held_lock")
def test_a_batch_that_cannot_get_the_lock_checks_with_a_private_cache(
    cache: Path,
) -> None:
    checked = MypyRun({"a": WRONG, "b": TYPED}, cache, lock_wait=0.2).result()
    assert checked["b"] == [] and len(checked["a"]) == 1


def test_an_empty_batch_starts_no_mypy(cache: Path) -> None:
    running = MypyRun({}, cache)
    assert running.process is None and running.result() == {}


def test_black_can_run_after_parsing_while_mypy_works() -> None:
    source = b"def f(x: int)->int:\n    return x\n"
    report = read_submission(source, black=False)
    assert report.black_clean is None and report.defined == {}
    with BlackRun(Limits()) as formatting:
        formatting.check(report)
    assert report.black_clean is False and "black would reformat" in report.black_note
    assert read_submission(source).black_clean is False
