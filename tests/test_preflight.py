"""An environment fault is never a student's zero: a known-good submission is graded first
through the same path, a child that dies before the student's file is read is the
grader's fault, and uid mode refuses an interpreter other users cannot reach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.config import KIT_ROOT
from autograder.confine import process, remote
from autograder.confine.mode import Confinement, SandboxUnavailable
from autograder.confine.probe import detect_confinement
from autograder.confine.reachability import closed_folder, uid_mode_obstacle
from autograder.confine.remote import StudentModule
from autograder.contract.outcomes import Failed
from autograder.intake.discover import discover
from autograder.intake.submission import Submission
from autograder.pipeline import preflight
from autograder.pipeline.batch import grade_by_workers, grade_folder
from autograder.pipeline.preflight import EnvironmentFault
from autograder.score.result import GradeResult
from tests.conftest import EXAMPLES, TEST_LIMITS, UID_MODE_OBSTACLE, needs_uid_mode

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not IS_ROOT, reason="needs a root grader (uid mode, as CI and Gradescope run)"
)
X_ARGS_BYTES = 3 * 8 * 4 * 4


@pytest.fixture
def closed_tmp() -> Iterator[Path]:
    """A temp folder only its owner can enter, as a 0700 TMPDIR or home folder is.

    Made in the system's temp folder (other users can reach it), not in pytest's own,
    which is 0700 itself.
    """
    folder = Path(tempfile.mkdtemp(prefix="mhsa-closed-"))
    folder.chmod(0o700)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_child_that_dies_before_reading_the_file_is_the_graders_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dying = tmp_path / "child.py"
    dying.write_text(
        "import sys\nsys.exit(1)  # as when its folder cannot be entered\n"
    )
    monkeypatch.setattr(process, "CHILD_SOURCE", dying)
    monkeypatch.setenv(
        "MHSA_NO_ZYGOTE", "1"
    )  # the start-up path (the zygote's: test_zygote)
    module = StudentModule((EXAMPLES / "correct.py").read_bytes(), TEST_LIMITS)
    outcome = module.call("create_qkv", [], X_ARGS_BYTES)
    module.close()
    assert isinstance(outcome, Failed) and outcome.kind == "internal_error"
    assert "before your file was read" in outcome.message
    assert "not your code's fault" in outcome.message


def test_a_file_that_dies_while_importing_is_still_a_crash() -> None:
    source = b"import os\nos._exit(1)\n"
    module = StudentModule(source, TEST_LIMITS)
    outcome = module.call("create_qkv", [], X_ARGS_BYTES)
    module.close()
    assert isinstance(outcome, Failed) and outcome.kind == "crash"


def test_a_broken_environment_stops_the_batch_before_any_student_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Correct code losing points is what a broken machine looks like; here the known-good
    # file itself is wrong, which every environment can reproduce.
    wrong = tmp_path / "known_good.py"
    wrong.write_bytes((EXAMPLES / "no_scale.py").read_bytes())
    monkeypatch.setattr(preflight, "KNOWN_GOOD_FILE", wrong)
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("submission,score\nkept,7\n")
    with pytest.raises(EnvironmentFault) as caught:
        grade_folder(EXAMPLES, out, jobs=1, limits=TEST_LIMITS, quiet=True)
    message = str(caught.value)
    assert "known to be correct scored" in message and "points lost: " in message
    assert "No student was graded" in message
    assert sorted(p.name for p in out.iterdir()) == ["gradebook.csv"]
    assert (out / "gradebook.csv").read_text() == "submission,score\nkept,7\n"


@pytest.fixture(name="wrong_known_good")
def wrong_known_good_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A known-good file that loses points, standing in for any broken environment."""
    wrong_known_good(tmp_path, monkeypatch)


def wrong_known_good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the known-good a file that loses points (any broken environment does)."""
    wrong = tmp_path / "known_good.py"
    wrong.write_bytes((EXAMPLES / "no_scale.py").read_bytes())
    monkeypatch.setattr(preflight, "KNOWN_GOOD_FILE", wrong)


@pytest.mark.usefixtures("wrong_known_good")
def test_a_broken_environment_stops_a_batch_of_workers_before_any_student_row(
    tmp_path: Path,
) -> None:
    # The workers grade the known-good beside the students; it is checked first.
    out = tmp_path / "out"
    with pytest.raises(EnvironmentFault) as caught:
        grade_folder(EXAMPLES, out, jobs=2, limits=TEST_LIMITS, quiet=True)
    assert "known to be correct scored" in str(caught.value)
    assert not out.exists() or not any(out.iterdir())


def test_a_fresh_regrade_stopped_by_a_broken_environment_leaves_out_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reports are written while the workers grade, but only after the known-good's
    # proof: a run that fails it neither clears OUT (--fresh) nor writes into it.
    out = tmp_path / "out"
    grade_folder(EXAMPLES, out, jobs=2, limits=TEST_LIMITS, quiet=True)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    wrong_known_good(tmp_path, monkeypatch)
    with pytest.raises(EnvironmentFault):
        grade_folder(EXAMPLES, out, jobs=2, limits=TEST_LIMITS, quiet=True, fresh=True)
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


def test_each_students_result_is_handed_on_once_after_the_known_goods(
    tmp_path: Path,
) -> None:
    submissions = discover(EXAMPLES).submissions
    handed: list[str] = []

    def on_graded(submission: Submission, result: GradeResult) -> GradeResult:
        handed.append(submission.id)
        return replace(result, status_message="kept as handed back")

    results = grade_by_workers(
        submissions, TEST_LIMITS, 2, lambda: None, on_graded=on_graded
    )
    assert sorted(handed) == sorted(s.id for s in submissions)  # never the known-good
    assert set(results) == set(handed)
    assert {r.status_message for r in results.values()} == {"kept as handed back"}


@pytest.mark.usefixtures("wrong_known_good")
def test_a_run_where_every_submission_is_full_needs_no_known_good(
    tmp_path: Path,
) -> None:
    # A broken environment only takes points away: full marks prove the path themselves,
    # so the (here wrong) known-good is not graded and cannot stop the run.
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("correct.py", "loop_heads.py"):
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    results = grade_folder(
        folder, tmp_path / "out", jobs=1, limits=TEST_LIMITS, quiet=True
    )
    assert [r.score for r in results] == [10.0, 10.0]
    assert (tmp_path / "out" / "gradebook.csv").exists()


@needs_root
@needs_uid_mode  # else the interpreter, not the temp folder, would be the fault
def test_a_closed_temp_folder_in_uid_mode_is_caught_by_the_preflight(
    tmp_path: Path, closed_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Detection bypassed: the preflight alone must see that children cannot start.
    forced = Confinement(True, (), "uid")
    monkeypatch.setattr(remote, "detect_confinement", lambda: forced)
    monkeypatch.setattr(tempfile, "tempdir", str(closed_tmp))
    with pytest.raises(EnvironmentFault) as caught:
        grade_folder(EXAMPLES, tmp_path / "out", jobs=1, limits=TEST_LIMITS, quiet=True)
    message = str(caught.value)
    assert "could not start the process that runs your code" in message
    assert "PermissionError" in message  # the child's own words, for staff
    assert not (tmp_path / "out" / "gradebook.csv").exists()


@needs_root
def test_make_grade_with_a_closed_tmpdir_stops_with_a_staff_message(
    tmp_path: Path, closed_tmp: Path
) -> None:
    venv = Path(sys.prefix)
    out = tmp_path / "out"
    done = subprocess.run(
        ["make", "-C", str(KIT_ROOT), "-o", str(venv / ".installed"), "grade"]
        + [f"VENV={venv}", f"OUT={out}", "JOBS=2"],
        env={**os.environ, "TMPDIR": str(closed_tmp), "MHSA_NO_NAMESPACES": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # make's "Error 3": the grader's exit status for an environment fault
    assert done.returncode != 0 and "Error 3" in done.stderr
    assert done.stderr.startswith("error (for staff): ")
    # Refused by the sandbox's probe or by the preflight that meets it first: either way
    # the staff read why no confinement is left, before any student code ran.
    assert "student code cannot be confined here" in done.stderr
    assert "which other users cannot enter (mode 0700)" in done.stderr
    assert "Traceback" not in done.stderr
    if UID_MODE_OBSTACLE is None:  # else the interpreter's folder is named first
        assert str(closed_tmp) in done.stderr
    assert not out.exists() or not any(out.iterdir())  # no student row, no folder


def test_the_reachability_check_names_the_closed_folder(closed_tmp: Path) -> None:
    inside = closed_tmp / "pyenv" / "versions" / "3.10.13" / "bin"
    inside.mkdir(parents=True)
    assert closed_folder(inside) == closed_tmp
    assert closed_folder(closed_tmp.parent) is None  # the system's temp folder is open


@needs_uid_mode  # else the interpreter's folder is named first
def test_uid_mode_obstacle_names_a_closed_temp_folder(
    closed_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(closed_tmp))
    obstacle = uid_mode_obstacle()
    assert obstacle is not None
    assert f"the temp folder {closed_tmp} sits in {closed_tmp}" in obstacle
    assert "(mode 0700)" in obstacle


def python_in(folder: Path) -> Path:
    """An interpreter path inside ``folder``, as pyenv's under a 0700 home folder."""
    python = folder / "pyenv" / "versions" / "3.10.13" / "bin" / "python3.10"
    python.parent.mkdir(parents=True)
    python.write_bytes(b"")
    return python


def test_uid_mode_obstacle_names_the_closed_folder_of_the_interpreter(
    closed_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = python_in(closed_tmp)
    monkeypatch.setattr(sys, "executable", str(python))
    obstacle = uid_mode_obstacle()
    assert obstacle is not None
    assert obstacle.startswith(f"the interpreter {python} sits in {closed_tmp},")
    assert "(mode 0700)" in obstacle


@needs_root
def test_uid_mode_refuses_with_the_reason_when_others_cannot_reach_python(
    closed_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(python_in(closed_tmp)))
    monkeypatch.setenv("MHSA_NO_NAMESPACES", "1")
    monkeypatch.delenv("MHSA_ALLOW_UNCONFINED", raising=False)
    detect_confinement.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable) as caught:
            detect_confinement()
    finally:
        detect_confinement.cache_clear()
    assert "uid drop refused (the interpreter " in str(caught.value)
    assert f"sits in {closed_tmp}, which other users cannot enter" in str(caught.value)
