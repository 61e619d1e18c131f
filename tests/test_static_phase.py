"""The static phase of a batch hands each file on as soon as mypy and black are done with
it, with the verdict a whole run gives; black's answers are kept for the same text; the
grader starts its static tools before it imports numpy, pytest or jsonschema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from jsonschema.validators import validator_for

from autograder.config import KIT_ROOT, Limits
from autograder.intake.submission import Submission
from autograder.report.results_json import SCHEMA_FILE
from autograder.score.rubric import SCHEMA
from autograder.static.batch import StaticChecks
from autograder.static.black_run import BlackRun, black_answers
from autograder.static.black_worker import answer, one_pass
from autograder.static.mypy_run import MypyRun
from autograder.static.read import read_submission
from autograder.static.report import StaticReport
from bench.population import write_population
from tests.conftest import EXAMPLES

# Errors on several lines, the last one just above the grader's appended marker: a verdict
# handed on before mypy printed them all would miss some.
MANY_ERRORS = (
    "def a(x: int) -> str:\n    return x\n\n\n"
    "def b(x: str) -> int:\n    return x\n\n\n"
    "def c(x: int) -> bytes:\n    return x\n"
)
TYPED = "def double(x: int) -> int:\n    return 2 * x\n"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for this module's tests."""
    return tmp_path_factory.mktemp("mypy-cache")


def test_mypy_hands_on_each_file_with_every_error_the_whole_run_finds(
    cache: Path,
) -> None:
    texts = {"many": MANY_ERRORS, "typed": TYPED, "same": MANY_ERRORS}
    at_hand: dict[str, list[str] | None] = {}

    def handed_on(key: str) -> None:  # the verdict as it stands when the key comes out
        report = StaticReport()
        running.record_one(key, report)
        at_hand[key] = report.mypy_errors

    running = MypyRun(texts, cache, on_settled=handed_on)
    final = running.result()
    assert sorted(at_hand) == sorted(texts)  # each key once
    assert at_hand == final
    assert len(final["many"]) == 3 and final["typed"] == []


def test_a_file_that_cannot_be_parsed_comes_out_at_once_and_each_file_once() -> None:
    correct = (EXAMPLES / "correct.py").read_bytes()
    submissions = [
        Submission("a", "a.py", correct),
        Submission("broken", "broken.py", b"def (:\n"),
        Submission(
            "b", "b.py", correct.replace(b"def create_qkv(", b"def create_qkv (")
        ),
    ]
    checks = StaticChecks(submissions, Limits())
    order = []
    for key in checks.settled():
        report = checks.reports[key]
        order.append(key)
        if report.fatal is None:  # complete when handed on: both tools have spoken
            assert report.mypy_errors == [] and report.black_clean is not None
    assert order[0] == "broken" and sorted(order) == ["a", "b", "broken"]
    reports = checks.finish()
    assert reports["a"].black_clean is True and reports["b"].black_clean is False
    assert "syntax error" in (reports["broken"].fatal or "")


def test_black_answers_the_same_text_from_its_cache_without_a_worker(
    tmp_path: Path,
) -> None:
    source = b"def f(x: int)->int:\n    return x\n"
    first, again = (read_submission(source, black=False) for _ in range(2))
    with BlackRun(Limits(), black_answers(tmp_path)) as formatting:
        formatting.check(first)
        assert formatting.process is not None  # black really ran once
    with BlackRun(Limits(), black_answers(tmp_path)) as formatting:
        formatting.check(again)
        assert formatting.process is None  # answered from the cache
    assert again.black_clean is first.black_clean is False
    assert again.black_note == first.black_note
    other = read_submission(source + b"\n\n", black=False)
    assert black_answers(tmp_path).get(other.text) is None  # another text, no answer


def test_an_answer_of_another_black_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "x = 1\n"
    black_answers(tmp_path).put(text, {"unchanged": False, "changed": 1})
    monkeypatch.setattr(sys, "executable", "/elsewhere/bin/python")
    assert black_answers(tmp_path).get(text) is None


def test_the_kits_schemas_are_valid_schemas() -> None:
    # Checked here once, no longer at every start of the grader.
    gradescope = json.loads(SCHEMA_FILE.read_text())
    for schema in (SCHEMA, gradescope):
        validator_for(schema).check_schema(schema)


def test_the_entry_points_import_neither_numpy_pytest_nor_jsonschema() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "import autograder.__main__, autograder.pipeline.batch\n"
            "import autograder.deliver.gradescope_run\n"
            "HEAVY = ('numpy', 'pytest', 'jsonschema')\n"
            "print(sorted(m for m in HEAVY if m in sys.modules))\n",
        ],
        cwd=KIT_ROOT,
        env={**os.environ, "PYTHONSTARTUP": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout.strip() == "[]", probe.stderr[-2000:]


def test_one_new_file_has_mypy_started_before_the_grader_imports_numpy(
    tmp_path: Path,
) -> None:
    # mypy is the longest wait for a text never graded before: it starts first.
    folder = tmp_path / "one"
    folder.mkdir()
    text = (EXAMPLES / "correct.py").read_text() + f"# {uuid.uuid4()}\n"
    (folder / "mhsa.py").write_text(text)
    watch = (
        "import sys\n"
        "HEAVY = ('numpy', 'pytest', 'jsonschema')\n"
        "import autograder.static.mypy_run as mypy_run\n"
        "seen = []\n"
        "started = mypy_run.MypyRun._round\n"
        "def watched(self, *args):\n"
        "    seen.append(sorted(m for m in HEAVY if m in sys.modules))\n"
        "    return started(self, *args)\n"
        "mypy_run.MypyRun._round = watched\n"
        "from autograder.__main__ import main\n"
        f"main(['grade', {str(folder)!r}, '--out', {str(tmp_path / 'out')!r}, '--quiet'])\n"
        "print(seen)\n"
    )
    # Under a parent with NAME=value on its command line (as a CI runner may be): the
    # grader's warning about it must not load numpy first.
    done = subprocess.run(
        ["sh", "-c", '"$0" -c "$1"; exit $?', sys.executable, watch, "TOKEN=x"],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[[]]", done.stdout[-2000:]


def test_black_checks_each_file_in_one_pass_with_the_verdict_of_two(
    tmp_path: Path,
) -> None:
    # format_str runs black's pass again on a file the first pass changed; the worker
    # runs it once. The verdict and the count of changed lines must not differ.
    import black
    from black.mode import Mode, TargetVersion

    assert one_pass() is black._format_str_once  # the pinned black has it
    write_population(tmp_path, 40, seed=3, salt="one pass")
    files = [
        *sorted(tmp_path.glob("*.py")),
        *sorted(EXAMPLES.glob("*.py")),
        *sorted((KIT_ROOT / "tests" / "realworld").rglob("*.py")),
        *sorted((KIT_ROOT / "tests" / "mutants").rglob("*.py")),
    ]
    mode = Mode(target_versions={TargetVersion.PY310})
    compared = reformatted = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            twice = black.format_str(text, mode=mode)
        except Exception:  # noqa: BLE001 - black's own parser refuses some odd files
            assert "error" in answer(text)
            continue
        changed = sum(
            1 for a, b in zip(text.splitlines(), twice.splitlines()) if a != b
        )
        assert answer(text) == {"unchanged": twice == text, "changed": changed}, path
        compared += 1
        reformatted += twice != text
    assert compared > 60 and reformatted > 10  # both kinds of file were compared
