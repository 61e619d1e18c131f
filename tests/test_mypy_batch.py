"""One mypy run per batch, beside black, on a cache that concurrent batches share safely;
its verdicts kept by text, so a file checked before needs no mypy at all."""

from __future__ import annotations

import fcntl
import importlib
import sys
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path

import pytest

from autograder.config import MYPY_CONFIG, Limits
from autograder.static import mypy_run
from autograder.static.answers import AnswerCache
from autograder.static.black_run import BlackRun
from autograder.static.mypy_run import MYPY_LOCK_NAME, MypyRun, mypy_answers, run_mypy
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


def test_a_text_checked_before_is_answered_without_mypy(
    cache: Path, tmp_path: Path
) -> None:
    kept = mypy_answers(tmp_path)
    first = MypyRun({"a": WRONG, "b": TYPED}, cache, answers=kept)
    assert first.process is not None  # mypy really ran once
    verdicts = first.result()
    settled: list[str] = []
    again = MypyRun(
        {"c": TYPED, "d": WRONG}, cache, answers=kept, on_settled=settled.append
    )
    assert again.process is None and lock_is_free(cache)  # no mypy, no lock
    assert again.result() == {"c": verdicts["b"], "d": verdicts["a"]}
    assert sorted(settled) == ["c", "d"]  # each handed on, as from a run
    other = MypyRun({"e": TYPED + "\n"}, cache, answers=kept)  # another text: mypy runs
    assert other.process is not None and other.result() == {"e": []}


def test_a_verdict_under_other_mypy_settings_is_never_used(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    MypyRun({"a": WRONG}, cache, answers=mypy_answers(tmp_path / "kept")).result()
    settings = tmp_path / "student_mypy.ini"
    settings.write_text(MYPY_CONFIG.read_text() + "# another setting\n")
    monkeypatch.setattr(mypy_run, "MYPY_CONFIG", settings)
    again = MypyRun({"a": WRONG}, cache, answers=mypy_answers(tmp_path / "kept"))
    assert again.process is not None and len(again.result()["a"]) == 1


def test_an_answer_is_kept_for_its_text_tools_and_reader_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, other_reader = tmp_path / "reader.py", tmp_path / "other.py"
    reader.write_text("x = 1\n")
    other_reader.write_text("x = 2\n")
    AnswerCache(tmp_path, ("mypy",), (reader,)).put("text", ["line 1: error"])
    assert AnswerCache(tmp_path, ("mypy",), (reader,)).get("text") == ["line 1: error"]
    assert AnswerCache(tmp_path, ("mypy",), (reader,)).get("text ") is None
    assert AnswerCache(tmp_path, ("mypy", "numpy"), (reader,)).get("text") is None
    assert AnswerCache(tmp_path, ("mypy",), (other_reader,)).get("text") is None
    monkeypatch.setattr(sys, "executable", "/elsewhere/bin/python")
    assert AnswerCache(tmp_path, ("mypy",), (reader,)).get("text") is None


def test_a_package_installed_beside_mypy_retires_its_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stub package (types-requests, say) changes what mypy says about an import.
    site = tmp_path / "site-packages"
    (site / "mypy").mkdir(parents=True)
    (site / "mypy" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "mypy", raising=False)  # found, not imported
    importlib.invalidate_caches()
    kept = AnswerCache(tmp_path / "kept", ("mypy",), ())
    kept.put("import requests\n", [])
    assert kept.get("import requests\n") == []
    time.sleep(0.01)
    (site / "types_requests").mkdir()  # installed beside it
    again = AnswerCache(tmp_path / "kept", ("mypy",), ())
    assert again.get("import requests\n") is None


def test_a_kept_answer_that_is_not_a_verdict_is_ignored(
    cache: Path, tmp_path: Path
) -> None:
    kept = mypy_answers(tmp_path)
    MypyRun({"a": WRONG}, cache, answers=kept).result()
    (answer,) = tmp_path.iterdir()
    answer.write_text('{"errors": []}')  # damaged: mypy checks the file again
    again = MypyRun({"a": WRONG}, cache, answers=kept)
    assert again.process is not None and len(again.result()["a"]) == 1


def test_black_can_run_after_parsing_while_mypy_works() -> None:
    source = b"def f(x: int)->int:\n    return x\n"
    report = read_submission(source, black=False)
    assert report.black_clean is None and report.defined == {}
    with BlackRun(Limits()) as formatting:
        formatting.check(report)
    assert report.black_clean is False and "black would reformat" in report.black_note
    assert read_submission(source).black_clean is False


class CountedSet(set[str]):
    """A set that counts the differences taken from it."""

    differences = 0

    def __sub__(self, other: AbstractSet[object]) -> set[str]:
        CountedSet.differences += 1
        return {item for item in self if item not in other}


def test_the_file_mypy_works_on_is_found_in_one_pass() -> None:
    """The watch asks which file mypy is on after every read of its output (about 1,500
    reads over a new class): each ask once took the written-but-unfinished set again
    for every scheduled file, 0.34 s of the grader's CPU over a class of 200."""
    heard = mypy_run._Round()
    heard.scheduled = [f"submission_{i}" for i in range(200)]
    heard.written = CountedSet(heard.scheduled[:150])
    heard.finished = set(heard.scheduled[:149])
    CountedSet.differences = 0
    assert heard.current() == "submission_149"
    assert CountedSet.differences == 1
