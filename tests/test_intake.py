"""Intake: every file Python would run is graded as Python runs it, nothing is skipped in
silence, archives are opened safely, ids never collide, and bad input gets one clear line.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from autograder.config import KIT_ROOT
from autograder.intake.archives import ArchiveError, Bounds, unpack
from autograder.intake.discover import discover
from autograder.intake.ids import assign_ids
from autograder.intake.submission import Intake
from autograder.pipeline.batch import grade_folder
from autograder.score.result import GradeResult
from tests.conftest import EXAMPLES, INTAKE, KIT_ENV, TEST_LIMITS, run_kit

CORRECT = (EXAMPLES / "correct.py").read_bytes()
SKELETON = (EXAMPLES / "skeleton.py").read_bytes()


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


def by_id(intake: Intake) -> dict[str, str]:
    """Submission id -> the graded file (or the problem)."""
    return {s.id: s.problem or s.file_name for s in intake.submissions}


def outcome(intake: Intake, path: str) -> tuple[str, str, str]:
    """(submission, outcome, detail) the manifest gives ``path``."""
    found = [e for e in intake.manifest if e.path == path]
    assert len(found) == 1, (path, [e.path for e in intake.manifest])
    return found[0].submission, found[0].outcome, found[0].detail


@pytest.fixture(scope="module")
def odd_class(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[GradeResult]]:
    """One batch: every encoding sample, odd names, colliding ids, a nested zip."""
    folder = tmp_path_factory.mktemp("odd class") / "My Course"
    folder.mkdir()
    for sample in sorted((INTAKE / "encodings").iterdir()):
        shutil.copy(sample, folder / sample.name)
    (folder / "Zoë Ñandú (late).py").write_bytes(CORRECT)
    (folder / "x").mkdir()
    (folder / "x" / "mhsa.py").write_bytes(SKELETON)
    (folder / "x.py").write_bytes(SKELETON)
    (folder / "x-2.py").write_bytes(CORRECT)  # the issue: its grade was lost to "x-2"
    (folder / "ada").mkdir()
    zip_of(folder / "ada" / "Homework 3.zip", {"hw3/MHSA.py": CORRECT})
    out = tmp_path_factory.mktemp("odd out")
    results = grade_folder(folder, out, jobs=2, limits=TEST_LIMITS, quiet=True)
    return out, results


def test_anything_python_runs_earns_full_marks(
    odd_class: tuple[Path, list[GradeResult]],
) -> None:
    _, results = odd_class
    scores = {r.submission: (r.score, r.status_message) for r in results}
    for sample in ("bom", "crlf", "cr_only", "latin1_cookie", "tabs"):
        compile((INTAKE / "encodings" / f"{sample}.py").read_bytes(), sample, "exec")
        assert scores[sample] == (10, ""), sample


def test_ids_never_collide_and_every_grade_is_kept(
    odd_class: tuple[Path, list[GradeResult]],
) -> None:
    out, results = odd_class
    ids = [r.submission for r in results]
    assert len({i.casefold() for i in ids}) == len(ids) == 10
    x_ids = [i for i in ids if i == "x-2" or i.startswith("x-")]
    assert "x-2" in ids and len(x_ids) == 3
    assert next(r for r in results if r.submission == "x-2").score == 10
    with (out / "gradebook.csv").open() as source:
        rows = {row["submission"]: row for row in csv.DictReader(source)}
    assert rows["x-2"]["score"] == "10" and rows["x-2"]["graded_file"] == "x-2.py"
    for submission in ids:
        assert (out / submission / "feedback.md").is_file()


def test_odd_names_and_a_zip_inside_a_submission_are_graded(
    odd_class: tuple[Path, list[GradeResult]],
) -> None:
    out, results = odd_class
    scores = {r.submission: r for r in results}
    assert scores["Zo_and_late"].score == 10
    assert scores["Zo_and_late"].file_name == "Zoë Ñandú (late).py"
    assert scores["ada"].score == 10
    assert scores["ada"].file_name == "Homework 3.zip/hw3/MHSA.py"
    with (out / "manifest.csv").open() as source:
        manifest = {row["path"]: row for row in csv.DictReader(source)}
    assert manifest["ada/Homework 3.zip"]["outcome"] == "opened"
    assert manifest["ada/Homework 3.zip/hw3/MHSA.py"]["outcome"] == "graded"


def test_ids_are_stable_and_unique_ignoring_case() -> None:
    names = ["x", "x.py", "x-2.py", "X.PY", "y.ipynb", "y", "hw 3.tar.gz"]
    ids = assign_ids(names)
    assert ids == assign_ids(names)  # the same folder, the same ids
    assert len({i.casefold() for i in ids}) == len(ids)
    assert ids[2] == "x-2" and ids[6] == "hw_3"
    assert all(i.casefold().startswith(("x-", "y-")) for i in ids[:2] + ids[3:6])
    # an id depends on the names only, not on the order they are listed in
    assert dict(zip(names, ids)) == dict(zip(names[::-1], assign_ids(names[::-1])))


def test_every_file_beside_the_graded_one_is_listed_with_its_reason(
    tmp_path: Path,
) -> None:
    student = tmp_path / "class" / "bob"
    (student / ".ipynb_checkpoints").mkdir(parents=True)
    (student / "mhsa.py").write_bytes(CORRECT)
    (student / "X.PY").write_bytes(SKELETON)
    (student / "x.ipynb").write_bytes(
        (INTAKE / "notebooks" / "truncated.ipynb").read_bytes()
    )
    (student / "notes.txt").write_text("see mhsa.py\n")
    (student / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    zip_of(student / "x.zip", {"old.py": SKELETON})
    (tmp_path / "class" / ".DS_Store").write_bytes(b"\x00")
    intake = discover(tmp_path / "class")
    assert by_id(intake) == {"bob": "mhsa.py"}
    assert outcome(intake, "bob/mhsa.py") == ("bob", "graded", "as Python")
    for name in ("X.PY", "x.ipynb", "x.zip/old.py"):
        assert outcome(intake, f"bob/{name}") == (
            "bob",
            "ignored",
            "not graded: bob/mhsa.py was",
        )
    assert outcome(intake, "bob/x.zip")[1:] == ("opened", "archive holding 1 file(s)")
    assert outcome(intake, "bob/notes.txt")[1:] == (
        "ignored",
        "not a .py or .ipynb file",
    )
    assert outcome(intake, "bob/.ipynb_checkpoints/x-checkpoint.ipynb")[1] == "ignored"
    assert outcome(intake, ".DS_Store") == ("", "ignored", "a hidden or system file")
    assert len(intake.ignored) == 6


def test_names_match_ignoring_case_and_the_file_defining_the_functions_wins(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "MHSA.py").write_bytes(CORRECT)
    (tmp_path / "a" / "utils.py").write_text("X = 1\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "attention.py").write_bytes(CORRECT)
    (tmp_path / "b" / "helpers.py").write_text("def softmax(x): return x\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "one.py").write_text("X = 1\n")
    (tmp_path / "c" / "two.py").write_text("Y = 2\n")
    (tmp_path / "d").mkdir()
    shutil.copy(
        INTAKE / "notebooks" / "jupyter_saved.ipynb", tmp_path / "d" / "hw.ipynb"
    )
    found = by_id(discover(tmp_path))
    assert found["a"] == "MHSA.py"
    assert found["b"] == "attention.py"
    assert found["c"].startswith("several .py/.ipynb files and none named mhsa.py")
    assert found["d"] == "hw.ipynb"


def test_a_folder_of_only_notebooks_is_graded(tmp_path: Path) -> None:
    shutil.copy(INTAKE / "notebooks" / "jupyter_saved.ipynb", tmp_path / "ada.ipynb")
    shutil.copy(INTAKE / "notebooks" / "jupyter_saved.ipynb", tmp_path / "bob.ipynb")
    assert by_id(discover(tmp_path)) == {"ada": "ada.ipynb", "bob": "bob.ipynb"}


def test_a_gradescope_export_folder_names_groups_and_opens_nested_zips() -> None:
    intake = discover(INTAKE / "export")
    found = {s.id: s for s in intake.submissions}
    assert sorted(found) == [f"submission_500{i}" for i in range(1, 5)]
    assert found["submission_5002"].file_name == "MHSA.py"
    assert [p.name for p in found["submission_5002"].people] == [
        "Alan Turing",
        "Grace Hopper",
    ]
    assert found["submission_5003"].file_name == "hw3.zip/Homework 3/mhsa.ipynb"
    assert found["submission_5003"].line_map is not None
    assert found["submission_5004"].problem == "no .py or .ipynb file was submitted"
    metadata = "assignment_4242_export/submission_metadata.yml"
    assert outcome(intake, metadata)[1] == "read"


def test_nested_archives_are_opened_to_a_bounded_depth(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zipped:
        zipped.writestr(
            "deepest.zip", zip_of(tmp_path / "d.zip", {"mhsa.py": CORRECT}).read_bytes()
        )
    (tmp_path / "class" / "eve").mkdir(parents=True)
    zip_of(tmp_path / "class" / "eve" / "outer.zip", {"inner.zip": inner.getvalue()})
    intake = discover(tmp_path / "class")
    assert by_id(intake)["eve"] == "no .py or .ipynb file was submitted"
    assert outcome(intake, "eve/outer.zip/inner.zip/deepest.zip") == (
        "eve",
        "ignored",
        "an archive nested too deep to be opened",
    )


@pytest.mark.parametrize(
    "members",
    [
        {"../escape.py": b"x = 1\n"},
        {"/etc/evil.py": b"x = 1\n"},
        {f"f{i}.py": b"" for i in range(30)},
        {"big.py": b"#" * 5000},
    ],
    ids=["dot-dot", "absolute", "too-many", "too-large"],
)
def test_unsafe_or_oversized_zips_are_refused(
    tmp_path: Path, members: dict[str, bytes]
) -> None:
    archive = zip_of(tmp_path / "a.zip", members)
    (tmp_path / "into").mkdir()
    with pytest.raises(ArchiveError):
        unpack(archive, tmp_path / "into", Bounds(max_members=20, max_bytes=4000))
    assert not (tmp_path / "escape.py").exists()


def test_links_in_a_tar_are_skipped_and_listed(tmp_path: Path) -> None:
    archive = tmp_path / "hw.tar.gz"
    with tarfile.open(archive, "w:gz") as tarred:
        info = tarfile.TarInfo("hw/mhsa.py")
        info.size = len(CORRECT)
        tarred.addfile(info, io.BytesIO(CORRECT))
        link = tarfile.TarInfo("hw/passwd.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tarred.addfile(link)
    (tmp_path / "into").mkdir()
    unpacked = unpack(archive, tmp_path / "into", Bounds(10, 1 << 20))
    assert unpacked.files == 1
    assert unpacked.skipped == [("hw/passwd.py", "a link or special file")]
    assert not (tmp_path / "into" / "hw" / "passwd.py").exists()


def test_a_tar_gz_of_a_class_and_a_notebook_given_alone_are_graded(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "class.tar.gz"
    with tarfile.open(archive, "w:gz") as tarred:
        for name, data in (("class/ada.py", CORRECT), ("class/bob/mhsa.py", SKELETON)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tarred.addfile(info, io.BytesIO(data))
    assert by_id(discover(archive)) == {"ada": "ada.py", "bob": "mhsa.py"}
    notebook = INTAKE / "notebooks" / "jupyter_saved.ipynb"
    assert by_id(discover(notebook)) == {"jupyter_saved": "jupyter_saved.ipynb"}


def test_nothing_to_grade_exits_non_zero_saying_what_was_looked_for(
    tmp_path: Path,
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no code here\n")
    for folder in ("empty", "notes"):
        done = run_kit("grade", str(tmp_path / folder), "--out", str(tmp_path / "out"))
        assert done.returncode == 2
        assert "no submission found" in done.stderr and "looked for" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out" / "gradebook.csv").exists()
    assert "readme.txt (not a submission" in done.stderr


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("missing", None, "no such file or folder"),
        (
            "corrupt.zip",
            b"PK\x03\x04 this is not really a zip",
            "not a readable archive",
        ),
        ("hw.rar", b"Rar!\x1a\x07\x00", "not a folder, a .py or .ipynb file"),
        ("notes.txt", b"hello\n", "not a folder, a .py or .ipynb file"),
    ],
)
def test_bad_input_gets_one_clear_line_and_no_traceback(
    tmp_path: Path, name: str, content: bytes | None, says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    done = run_kit("grade", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_make_grade_takes_paths_with_spaces(tmp_path: Path) -> None:
    course = tmp_path / "My Course"
    course.mkdir()
    archive = zip_of(course / "hw 3.zip", {"hw 3/ada lovelace.py": CORRECT})
    out = tmp_path / "out dir"
    venv = Path(sys.prefix)
    done = subprocess.run(
        ["make", "-C", str(KIT_ROOT), "-o", str(venv / ".installed"), "grade"]
        + [f"VENV={venv}", f"SUBMISSIONS={archive}", f"OUT={out}", "JOBS=1"],
        env=KIT_ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "ada_lovelace" / "results.json").is_file()
    assert "1 submission(s)" in done.stdout


def test_a_corrupt_zip_inside_a_submission_is_named_in_its_row(tmp_path: Path) -> None:
    (tmp_path / "carl").mkdir()
    (tmp_path / "carl" / "hw.zip").write_bytes(b"PK\x03\x04 truncated")
    intake = discover(tmp_path)
    problem = by_id(intake)["carl"]
    assert problem.startswith("no .py or .ipynb file was submitted (carl/hw.zip: ")
    assert "an archive that cannot be opened" in problem
    assert outcome(intake, "carl/hw.zip")[1] == "ignored"


def test_leftovers_beside_a_zips_top_folder_are_listed_too(tmp_path: Path) -> None:
    archive = zip_of(
        tmp_path / "class.zip",
        {
            "class/ada.py": CORRECT,
            "__MACOSX/class/._ada.py": b"\x00\x05\x16\x07",
            ".DS_Store": b"\x00",
        },
    )
    intake = discover(archive)
    assert by_id(intake) == {"ada": "ada.py"}
    assert outcome(intake, "class/ada.py") == ("ada", "graded", "as Python")
    for leftover in ("__MACOSX/class/._ada.py", ".DS_Store"):
        assert outcome(intake, leftover) == ("", "ignored", "a hidden or system file")
