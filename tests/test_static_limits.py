"""black and mypy read hostile files outside the grader, under a time and a memory limit.

Reproductions of issue 11's findings 3 (mypy silenced through line endings the silencer
removal did not see) and 4 (black in the grader's process, with no time limit, stalling a
batch), with the limits' other half (memory) and the reasons a student reads.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.cases.casebook import load_cases
from autograder.config import KIT_ROOT, Limits
from autograder.contract.silencers import strip_silencers
from autograder.intake.submission import Submission
from autograder.pipeline.grading import grade
from autograder.score.rubric import load_rubric
from autograder.static.batch import static_reports
from autograder.static.black_run import BlackRun
from autograder.static.mypy_run import MypyRun, cpu_clock, run_mypy
from autograder.static.read import read_submission
from autograder.static.report import typing_problems

CORRECT = (KIT_ROOT / "examples" / "submissions" / "correct.py").read_bytes()
WRONG_RETURN = "Incompatible return value"
# One type error, silenced in a way each line-ending style could hide from the removal.
SILENCED = {
    "LF": b"def f(a: int) -> str:\n    return a  # type: ignore\n",
    "CRLF": b"def f(a: int) -> str:\r\n    return a  # type: ignore\r\n",
    "CR only": b"def f(a: int) -> str:\r    return a  # type: ignore\r",
    "CR only, whole file": b"# type: ignore\rdef f(a: int) -> str:\r    return a\r",
    "mixed": b"def f(a: int) -> str:\r\n    x = 1\r    return a  # type: ignore\n",
    "form feed": b"def f(a: int) -> str:\n    return a \x0c # type: ignore\n",
    "form feed in a comment": b"x = 1  # a\x0cb\ndef f(a: int) -> str:\n    return a  #type:ignore\n",
    "U+2028 in a comment": (
        "x = 1  # a\u2028b\ndef f(a: int) -> str:\n    return a  # type: ignore\n"
    ).encode(),
    "NEL in a string": (
        's = "a\x85b"\ndef f(a: int) -> str:\n    return a  # type: ignore[return-value]\n'
    ).encode(),
    "inline config": b"# mypy: ignore-errors\rdef f(a: int) -> str:\r    return a\r",
    "config in a string": (
        b'x = """\n# mypy: disable-error-code="return-value"\n"""\n'
        b"def f(a: int) -> str:\n    return a\n"
    ),
}
BLACK_BOMB = (
    b"x = a" + b"[i]" * 1600 + b"\n"
)  # black's time grows with the cube of this
# mypy needs some seconds for this one (each line resolves numpy's overloads).
MYPY_SLOW = (
    "import numpy as np\nx = np.zeros(3)\n"
    + "".join(f"y{i} = x * {i} + np.sum(x, axis=0) @ x\n" for i in range(3000))
).encode()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.mark.parametrize("style", sorted(SILENCED))
def test_mypy_cannot_be_silenced_whatever_the_line_endings(
    style: str, cache: Path
) -> None:
    report = read_submission(SILENCED[style], black=False)
    assert report.fatal is None, report.fatal
    errors = run_mypy({"file": report.text}, cache)["file"]
    assert any(WRONG_RETURN in error for error in errors), errors


def test_silencer_removal_keeps_every_line_where_mypy_reads_it() -> None:
    for data in SILENCED.values():
        text = read_submission(data, black=False).text
        cleaned = strip_silencers(text)
        assert cleaned.count("\n") == text.count("\n")
        assert "type: ignore" not in cleaned and "type:ignore" not in cleaned
        assert "# mypy:" not in cleaned


def test_decorating_a_graded_function_with_no_type_check_costs_the_typing_point() -> (
    None
):
    source = CORRECT.replace(
        b"import numpy as np",
        b"import numpy as np\nfrom typing import no_type_check",
        1,
    ).replace(b"\ndef create_qkv", b"\n@no_type_check\ndef create_qkv", 1)
    report = read_submission(source, black=False)
    report.mypy_errors = []
    assert any("no_type_check" in problem for problem in typing_problems(report))


@pytest.mark.parametrize(
    "decorator",
    [
        "@typing.no_type_check",
        "@typing.\uff4e\uff4f_type_check",  # fullwidth: Python folds it to NFKC
        "@typing.no_type_check_decorator(lambda f: f)",
    ],
    ids=["attribute", "fullwidth", "decorator-factory"],
)
def test_no_type_check_is_seen_however_it_is_spelled(decorator: str) -> None:
    source = CORRECT.replace(
        b"import numpy as np", b"import typing\n\nimport numpy as np", 1
    ).replace(b"\ndef create_qkv", f"\n{decorator}\ndef create_qkv".encode(), 1)
    report = read_submission(source, black=False)
    assert report.fatal is None
    assert report.silenced
    report.mypy_errors = []
    assert any("no_type_check" in problem for problem in typing_problems(report))


def test_a_file_that_never_names_no_type_check_is_not_silenced() -> None:
    report = read_submission(CORRECT, black=False)
    assert report.fatal is None and report.silenced == []


def _submissions(*sources: tuple[str, bytes]) -> list[Submission]:
    return [Submission(name, f"{name}.py", data) for name, data in sources]


def test_black_never_runs_in_the_graders_own_process() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from autograder.static.batch import static_reports\n"
            "from autograder.intake.discover import Submission\n"
            f"r = static_reports([Submission('a', 'a.py', {CORRECT!r})])['a']\n"
            "print(r.black_clean, 'black' in sys.modules)\n",
        ],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout.split() == ["True", "False"], probe.stderr[-2000:]


def test_a_black_bomb_delays_the_batch_by_at_most_the_limit() -> None:
    limits = replace(Limits(), black_seconds=1.5)
    started = time.monotonic()
    reports = static_reports(
        _submissions(("bomb", BLACK_BOMB), ("after", CORRECT)), limits=limits
    )
    elapsed = time.monotonic() - started
    assert reports["bomb"].black_clean is None
    assert "formatting not checked" in reports["bomb"].black_note
    assert "within 1.5 s" in reports["bomb"].black_note
    assert reports["after"].black_clean is True  # a fresh worker took the next file
    assert (
        elapsed < 1.5 + 20
    ), elapsed  # one limit, plus start-ups (the bomb alone: 30 s)


def test_a_file_that_needs_too_much_memory_is_not_checked_and_says_so() -> None:
    with BlackRun(replace(Limits(), static_memory_bytes=16 << 20)) as formatting:
        report = read_submission(CORRECT, black=False)
        formatting.check(report)
    assert report.black_clean is None
    assert "formatting not checked" in report.black_note


def test_black_advice_names_the_students_own_file() -> None:
    messy = CORRECT.replace(b"def create_qkv(", b"def create_qkv (", 1)
    reports = static_reports(_submissions(("attention", messy)))
    assert "run `black attention.py`" in reports["attention"].black_note


def test_a_file_mypy_takes_too_long_on_gets_no_verdict_and_the_others_are_checked(
    cache: Path,
) -> None:
    texts = {
        "slow": read_submission(MYPY_SLOW, black=False).text,
        "typed": "def f(a: int) -> int:\n    return a\n",
        "wrong": "def f(a: int) -> str:\n    return a\n",
    }
    run_mypy({"warm": "import numpy\n"}, cache)  # numpy in the cache: start-up aside
    started = time.monotonic()
    checking = MypyRun(texts, cache, replace(Limits(), mypy_seconds=1.0))
    checked = checking.result()
    elapsed = time.monotonic() - started
    assert checked["typed"] == [] and WRONG_RETURN in checked["wrong"][0]
    assert "slow" not in checked
    why, grader_fault = checking.failures["slow"]
    assert (
        "did not finish checking this file within 1 s of CPU time" in why
        and not grader_fault
    )
    assert elapsed < 1.0 + 15, elapsed


def test_mypy_that_cannot_run_is_the_graders_fault_never_a_students_zero(
    cache: Path,
) -> None:
    limits = replace(Limits(), static_memory_bytes=16 << 20)
    # A text no run has checked before: mypy's kept verdicts would answer for a known one.
    fresh = CORRECT + f"# {uuid.uuid4()}\n".encode()
    reports = static_reports(_submissions(("correct", fresh)), limits=limits)
    report = reports["correct"]
    assert report.mypy_errors is None and report.mypy_fault
    assert "grader" in report.mypy_note
    result = grade(
        "correct",
        "",
        "correct.py",
        CORRECT,
        report,
        load_cases(),
        load_rubric(),
        Limits().scaled(3.0),
    )
    assert result.status == "internal_error"
    typing = next(item for item in result.items if item.id == "typing")
    assert typing.score == 0 and "internal error" in typing.results[0].message


def test_mypys_watch_counts_its_cpu_time_not_the_machines_load() -> None:
    # A process that waits (as mypy does when the machine is busy) does not age on the
    # watch's clock; one that works does.
    waiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    working = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # both started
        waits, works = cpu_clock(waiting.pid), cpu_clock(working.pid)
        before = (waits(), works())
        time.sleep(1.0)
        assert waits() - before[0] < 0.1
        assert works() - before[1] > 0.2
    finally:
        for process in (waiting, working):
            process.kill()
            process.wait()
    assert works() > 0.2  # a process that is gone keeps its last reading
