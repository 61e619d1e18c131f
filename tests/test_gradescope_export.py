"""Grading Gradescope's "Export Submissions" zip: each ``submission_<id>/`` folder is graded
and the gradebook names its submitters (one row each) from ``submission_metadata.yml``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.config import KIT_ROOT
from autograder.intake.discover import discover
from autograder.intake.roster import Person, Submitters, export_metadata
from tests.conftest import EXAMPLES, REFERENCE, TEST_LIMITS

# The shape of Gradescope's metadata: Ruby symbols as keys, one record per folder.
METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '100'
    :email: ada@example.edu
  :created_at: 2024-05-17 23:58:01.123456000 -07:00
  :score: 7.5
  :history: []
submission_1002:
  :submitters:
  - :name: Alan Turing
    :sid: '200'
    :email: alan@example.edu
  - :name: Grace Hopper
    :sid: '201'
    :email: grace@example.edu
  :created_at: 2024-05-17 22:10:00.000000000 -07:00
  :score:
submission_1003:
  :submitters:
  - :name: "Edsger\\tDijkstra"
    :sid: '300'
"""


def export_folder(root: Path) -> Path:
    """An unpacked export: metadata, a correct, a skeleton (group) and an empty submission."""
    folder = root / "assignment_4242_export"
    (folder / "submission_1001").mkdir(parents=True)
    (folder / "submission_1001" / "mhsa.py").write_text(REFERENCE.read_text())
    (folder / "submission_1002" / "work").mkdir(parents=True)
    (folder / "submission_1002" / "work" / "attention.py").write_text(
        (EXAMPLES / "skeleton.py").read_text()
    )
    (folder / "submission_1003").mkdir()
    (folder / "submission_1003" / "answers.txt").write_text("no code\n")
    (folder / "submission_metadata.yml").write_text(METADATA)
    return folder


def export_zip(root: Path) -> Path:
    """The export as Gradescope hands it out: one zip with one top folder."""
    folder = export_folder(root / "unpacked")
    archive = root / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(folder.rglob("*")):
            zipped.write(path, path.relative_to(folder.parent))
    return archive


def test_metadata_names_every_submitter_with_sid_email_and_time(tmp_path: Path) -> None:
    metadata = tmp_path / "submission_metadata.yml"
    metadata.write_text(METADATA)
    assert export_metadata(metadata) == {
        "submission_1001": Submitters(
            (Person("Ada Lovelace", "100", "ada@example.edu"),),
            "2024-05-17T23:58:01-07:00",
        ),
        "submission_1002": Submitters(
            (
                Person("Alan Turing", "200", "alan@example.edu"),
                Person("Grace Hopper", "201", "grace@example.edu"),
            ),
            "2024-05-17T22:10:00-07:00",
        ),
        "submission_1003": Submitters((Person("Edsger Dijkstra", "300"),), ""),
    }


@pytest.mark.parametrize(
    "text",
    [
        "submission_1: !!python/object/apply:os.system ['true']\n",
        "{unclosed: [\n",
        "- just\n- a list\n",
    ],
)
def test_unsafe_or_odd_metadata_costs_only_the_student_column(
    tmp_path: Path, text: str
) -> None:
    metadata = tmp_path / "submission_metadata.yml"
    metadata.write_text(text)
    assert export_metadata(metadata) == {}


def test_unpacked_export_folder_is_read_like_the_zip(tmp_path: Path) -> None:
    found = {s.id: s for s in discover(export_folder(tmp_path)).submissions}
    assert set(found) == {"submission_1001", "submission_1002", "submission_1003"}
    assert found["submission_1001"].file_name == "mhsa.py"
    assert found["submission_1002"].file_name == "work/attention.py"
    assert found["submission_1003"].problem == "no .py or .ipynb file was submitted"
    assert found["submission_1002"].student.startswith("Alan Turing")


def test_grading_an_export_zip_fills_the_gradebook_student_column(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "MHSA_CALL_SECONDS": str(TEST_LIMITS.call_seconds)}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(export_zip(tmp_path))]
        + ["--out", str(out), "--jobs", "2", "--quiet"],
        cwd=KIT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with (out / "gradebook.csv").open() as source:
        rows = list(csv.DictReader(source))
    by_name = {row["name"]: row for row in rows}
    assert by_name["Ada Lovelace"]["email"] == "ada@example.edu"
    assert by_name["Ada Lovelace"]["sid"] == "100"
    assert by_name["Ada Lovelace"]["score"] == "10"
    assert by_name["Ada Lovelace"]["submitted_at"] == "2024-05-17T23:58:01-07:00"
    # a group submission: each member gets the submission's row
    for member in ("Alan Turing", "Grace Hopper"):
        assert by_name[member]["submission"] == "submission_1002"
        assert by_name[member]["score"] == "0"
        assert by_name[member]["graded_file"] == "work/attention.py"
    assert by_name["Edsger Dijkstra"]["status"] == "no_file"
    for submission in {row["submission"] for row in rows}:
        assert (out / submission / "results.json").is_file()
        assert (out / submission / "feedback.md").is_file()
