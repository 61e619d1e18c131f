"""A regrade never loses a row: grading into an OUT that holds a gradebook merges (regraded
rows and folders replaced, every other row kept, counts printed); --fresh starts empty.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.config import KIT_ROOT
from autograder.intake.submission import Submission
from autograder.report.grade_record import RECORD, read_record, write_record
from autograder.report.gradebook import Gradebook, merge, read_gradebook
from autograder.score.rubric import load_rubric
from tests.conftest import EXAMPLES, GradedBatch, run_kit

RUBRIC = load_rubric()
ITEMS = [item.id for item in RUBRIC.items]


def grade(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_kit("grade", str(source), "--out", str(out), "--jobs", "2", *extra)


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "gradebook.csv").open(newline="") as source:
        return {row["submission"]: row for row in csv.DictReader(source)}


@pytest.fixture(scope="module")
def regraded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, dict[str, str]], str]:
    """The examples graded as a class, then one of them regraded alone into the same OUT."""
    out = tmp_path_factory.mktemp("class-out")
    first = grade(EXAMPLES, out)
    assert first.returncode == 0, first.stderr
    before = rows(out)
    single = tmp_path_factory.mktemp("one") / "no_scale.py"
    shutil.copy(EXAMPLES / "correct.py", single)  # the student fixed it
    again = grade(single, out)
    assert again.returncode == 0, again.stderr
    return out, before, again.stdout


def test_a_regrade_of_one_file_keeps_every_other_row(
    regraded: tuple[Path, dict[str, dict[str, str]], str],
) -> None:
    out, before, _ = regraded
    after = rows(out)
    assert set(after) == set(before) and len(after) == 7
    assert before["no_scale"]["score"] != "10" and after["no_scale"]["score"] == "10"
    for submission in set(before) - {"no_scale"}:
        assert after[submission] == before[submission]
        assert (out / submission / "feedback.md").is_file()
    assert "10 / 10" in (out / "no_scale" / "feedback.md").read_text()
    assert after["no_scale"]["graded_at"] >= before["no_scale"]["graded_at"]


def test_the_terminal_says_what_was_replaced_added_and_kept(
    regraded: tuple[Path, dict[str, dict[str, str]], str],
) -> None:
    _, _, stdout = regraded
    assert "Gradebook: 1 row(s) replaced, 0 added, 6 kept from earlier runs" in stdout


def test_fresh_starts_from_an_empty_out_but_keeps_what_the_kit_did_not_write(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    assert grade(EXAMPLES, out).returncode == 0
    (out / "my notes.txt").write_text("instructor's own file\n")
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(EXAMPLES / "skeleton.py", one / "skeleton.py")
    done = grade(one, out, "--fresh")
    assert done.returncode == 0, done.stderr
    assert set(rows(out)) == {"skeleton"}
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["skeleton"]
    assert (out / "my notes.txt").is_file()
    assert "left 1 entry(ies) the kit did not write" in done.stdout


def test_make_grade_fresh_passes_the_flag() -> None:
    venv = Path(sys.prefix)
    dry = subprocess.run(
        ["make", "-s", "-n", "-C", str(KIT_ROOT), "-o", str(venv / ".installed")]
        + ["grade", f"VENV={venv}", "FRESH=1", "SUBMISSIONS=My Course/hw 3.zip"],
        capture_output=True,
        text=True,
        check=True,
    )
    # The grading command, not the bytecode step make runs first after a source edit.
    lines = dry.stdout.splitlines()
    command = next(line for line in lines if "-m autograder grade" in line)
    assert '"My Course/hw 3.zip"' in command and command.endswith("--fresh")


def test_an_older_kit_gradebook_is_converted_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.csv"
    path.write_text(
        "submission,student,score,max_score,status," + ",".join(ITEMS) + "\n"
        "submission_1,Alan Turing <alan@x.edu>; Grace Hopper <grace@x.edu>,7,10,ok,"
        + ",".join("1" for _ in ITEMS)
        + "\nsubmission_2,Ada,0,10,syntax,"
        + ",".join("0" for _ in ITEMS)
        + "\n"
    )
    old = read_gradebook(path)
    assert old is not None
    book, counts = merge(old, [], RUBRIC)
    converted = [
        (r["submission"], r["name"], r["email"], r["score"]) for r in book.rows
    ]
    assert converted == [
        ("submission_1", "Alan Turing", "alan@x.edu", "7"),
        ("submission_1", "Grace Hopper", "grace@x.edu", "7"),
        ("submission_2", "Ada", "", "0"),
    ]
    assert "student" not in book.columns and counts.kept == 3


def test_kept_rows_graded_with_another_rubric_keep_their_columns_and_are_flagged() -> (
    None
):
    other_items = [i for i in ITEMS if i != "formatting"] + ["style.pep8"]
    old = Gradebook(
        ("name", "submission", "score", "max_score", "status", *other_items, "late"),
        (
            {
                "name": "Ada",
                "submission": "ada",
                "score": "11",
                "max_score": "12",
                "status": "ok",
                "style.pep8": "2",
                "late": "yes",
            },
        ),
    )
    new = [{"name": "Bob", "submission": "bob", "score": "10", "max_score": "10"}]
    book, counts = merge(old, new, RUBRIC)
    assert book.columns[-2:] == ("style.pep8", "late")
    ada = next(r for r in book.rows if r["name"] == "Ada")
    assert (ada["style.pep8"], ada["late"], ada.get("formatting", "")) == (
        "2",
        "yes",
        "",
    )
    assert (counts.replaced, counts.added, counts.kept, counts.other_rubric) == (
        0,
        1,
        1,
        1,
    )
    assert "another rubric" in counts.describe()


def test_ids_differing_only_in_case_replace_each_other() -> None:
    old = Gradebook(("submission", "score"), ({"submission": "Ada", "score": "1"},))
    book, counts = merge(old, [{"submission": "ada", "score": "9"}], RUBRIC)
    assert [r["score"] for r in book.rows] == ["9"] and counts.replaced == 1


def test_an_unknown_gradebook_in_out_stops_the_run_and_stays_untouched(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("Student,Grade\nAda,A\n")
    done = grade(EXAMPLES / "correct.py", out)
    assert done.returncode == 2
    assert "not a gradebook this kit wrote" in done.stderr
    assert (out / "gradebook.csv").read_text() == "Student,Grade\nAda,A\n"
    assert not (out / "correct").exists()


def test_the_class_summary_still_covers_every_kept_row(
    regraded: tuple[Path, dict[str, dict[str, str]], str],
) -> None:
    out, _, stdout = regraded
    summary = (out / "summary.md").read_text()
    assert "| submissions | 7 |" in summary
    assert "Class: 7 submission(s)" in stdout
    with (out / "similarity.csv").open(newline="") as source:
        pairs = list(csv.DictReader(source))
    assert {"softmax_wrong_axis", "unstable_softmax"} <= {
        p["submission_a"] for p in pairs
    } | {p["submission_b"] for p in pairs}


def test_kept_rows_without_a_record_are_named_in_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text(
        "submission,student,score,max_score,status\nold_one,Ada <a@x>,7,10,ok\n"
    )
    done = grade(EXAMPLES / "skeleton.py", out)
    assert done.returncode == 0, done.stderr
    assert set(rows(out)) == {"old_one", "skeleton"}
    summary = (out / "summary.md").read_text()
    assert "1 submission(s) kept in gradebook.csv from an earlier run" in summary
    assert "old_one" in summary and "| submissions | 1 |" in summary


def test_a_grade_record_reads_back_as_the_result_it_recorded(
    graded: GradedBatch, tmp_path: Path
) -> None:
    """Kept rows are summarised from their records: every field must survive the trip."""
    for result in graded.results.values():
        submission = Submission(result.submission, result.file_name, b"x = 1\n")
        write_record(result, submission, tmp_path)
        recorded = read_record(tmp_path)
        assert recorded is not None, result.submission
        assert recorded[0] == replace(result, printed="")
        document = json.loads((tmp_path / RECORD).read_text())  # as asdict gives it
        assert document["result"] == json.loads(
            json.dumps(dataclasses.asdict(replace(result, printed="")))
        )
        assert recorded[1].source == b"x = 1\n"
