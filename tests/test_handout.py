"""The student handout zip (``make handout``): what it holds, what it must never hold, and
its self-check run the way a student runs it, from the unpacked folder."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy
import pytest

from autograder.config import FIXTURES_DIR, KIT_ROOT, PACKAGE_DIR, RUBRIC_FILE
from autograder.contract.words import unavailable_module
from autograder.deliver.package import (
    HANDOUT_FOLDER,
    OTTER_DIR,
    SELFCHECK_PACKAGE,
    STUDENT_DIR,
    shipped_judge,
)
from autograder.deliver.package import main as build
from tests.conftest import EXAMPLES, REFERENCE

CATALOGUE = KIT_ROOT / "tests" / "mutants"

STUDENT_FILES = {
    "mhsa.py",
    "README.md",
    "check.py",
    "fixtures/public.json",
    "fixtures/hints.json",
    "rubric.json",
    "selfcheck/__init__.py",
    "selfcheck/contract/__init__.py",
    "selfcheck/contract/functions.py",
    "selfcheck/contract/outcomes.py",
    "selfcheck/contract/signatures.py",
    "selfcheck/contract/silencers.py",
    "selfcheck/contract/source_text.py",
    "selfcheck/contract/words.py",
    "selfcheck/judge/__init__.py",
    "selfcheck/judge/api.py",
    "selfcheck/judge/case.py",
    "selfcheck/judge/causes.py",
    "selfcheck/judge/compare.py",
    "selfcheck/judge/describe.py",
    "selfcheck/judge/digests.py",
    "selfcheck/judge/in_process.py",
    "selfcheck/judge/localise.py",
    "selfcheck/judge/references.py",
    "selfcheck/judge/review.py",
    "selfcheck/judge/verdict.py",
}
# Runs check.py with nothing importable but the standard library and numpy (-S: no site).
ONLY_NUMPY = """
import runpy, sys
sys.path.append({numpy_home!r})
sys.argv = ["check.py", *sys.argv[1:]]
runpy.run_path("check.py", run_name="__main__")
"""


@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/student.zip, built as ``make handout`` builds it."""
    out = tmp_path_factory.mktemp("dist") / "student.zip"
    assert build(["handout", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def members(handout: Path) -> dict[str, bytes]:
    """Every file of the handout, by path inside the zip."""
    with zipfile.ZipFile(handout) as archive:
        return {
            i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()
        }


@pytest.fixture(scope="module")
def handout_folder(handout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handout unpacked once, for runs that write nothing into it."""
    folder = tmp_path_factory.mktemp("handout")
    with zipfile.ZipFile(handout) as archive:
        archive.extractall(folder)
    return folder / HANDOUT_FOLDER


@pytest.fixture
def unpacked(handout: Path, tmp_path: Path) -> Path:
    """The handout unpacked as a student would, in a fresh folder."""
    with zipfile.ZipFile(handout) as archive:
        archive.extractall(tmp_path)
    return tmp_path / HANDOUT_FOLDER


@pytest.fixture(scope="module")
def numpy_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only numpy (links to the installed package and its libraries)."""
    home = tmp_path_factory.mktemp("only-numpy")
    installed = Path(numpy.__file__).parent
    for entry in installed.parent.iterdir():
        if entry.name == "numpy" or entry.name.startswith("numpy.libs"):
            (home / entry.name).symlink_to(entry)
    return home


def self_check(
    folder: Path, numpy_home: Path | None, *args: str
) -> subprocess.CompletedProcess[str]:
    """``python check.py`` in ``folder``; with ``numpy_home``, numpy is all there is."""
    if numpy_home is None:
        command = [sys.executable, "check.py", *args]
    else:
        code = ONLY_NUMPY.format(numpy_home=str(numpy_home))
        command = [sys.executable, "-S", "-c", code, *args]
    return subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )


def test_handout_holds_exactly_the_student_files(members: dict[str, bytes]) -> None:
    assert set(members) == {f"{HANDOUT_FOLDER}/{name}" for name in STUDENT_FILES}


def test_handout_holds_no_solution_hidden_fixtures_or_grader_internals(
    members: dict[str, bytes],
) -> None:
    names = " ".join(members)
    for word in ("solution", "hidden", "autograder", "sandbox", "MANIFEST", "cases"):
        assert word not in names
    hidden = json.loads((FIXTURES_DIR / "hidden.json").read_text())
    some_hidden_values = [
        repr(case["expected"]["arrays"][0]["data"][0])
        for case in hidden["cases"]
        if "arrays" in case["expected"]
    ]
    reference_body = REFERENCE.read_bytes()
    for name, data in members.items():
        text = data.decode("utf-8")
        assert data != reference_body, name
        assert "hidden-" not in text, name
        for value in some_hidden_values:
            assert value not in text, f"{name} holds hidden value {value}"


def test_handout_fixtures_and_rubric_are_the_graders_public_ones(
    members: dict[str, bytes],
) -> None:
    public = members[f"{HANDOUT_FOLDER}/fixtures/public.json"]
    assert public == (FIXTURES_DIR / "public.json").read_bytes()
    assert members[f"{HANDOUT_FOLDER}/rubric.json"] == RUBRIC_FILE.read_bytes()


def test_self_check_on_the_skeleton_with_only_numpy_lists_failures_and_zero_points(
    unpacked: Path, numpy_home: Path
) -> None:
    done = self_check(unpacked, numpy_home)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    public = json.loads((unpacked / "fixtures/public.json").read_text())["cases"]
    assert out.count(":( ") >= len(public)
    assert "not implemented yet" in out or "NotImplementedError" in out
    assert "mypy not run" in out  # mypy is not installed here
    assert re.search(r"total\s+0\.00 / 10\.00", out), out


def test_self_check_on_a_correct_file_passes_every_public_check(
    unpacked: Path, numpy_home: Path
) -> None:
    (unpacked / "mhsa.py").write_text((EXAMPLES / "correct.py").read_text())
    bare = self_check(unpacked, numpy_home)
    assert bare.returncode == 0, bare.stdout + bare.stderr
    assert ":( " not in bare.stdout
    with_mypy = self_check(unpacked, None)
    assert with_mypy.returncode == 0, with_mypy.stdout + with_mypy.stderr
    assert ":) mypy reports no error" in with_mypy.stdout
    assert re.search(r"total\s+10\.00 / 10\.00", with_mypy.stdout), with_mypy.stdout


@pytest.mark.parametrize(
    ("example", "phrase"),
    [
        ("softmax_wrong_axis.py", "softmax normalises over the wrong axis"),
        ("no_scale.py", "without the scale"),
        ("heads_no_transpose.py", "without moving the head axis"),
        ("unstable_softmax.py", "without max-subtraction"),
    ],
)
def test_self_check_names_the_mistake_like_the_grader(
    unpacked: Path, numpy_home: Path, example: str, phrase: str
) -> None:
    (unpacked / "mhsa.py").write_text((EXAMPLES / example).read_text())
    done = self_check(unpacked, numpy_home)
    assert done.returncode == 1
    assert "likely cause: " in done.stdout
    assert phrase in done.stdout, done.stdout


def test_self_check_hints_cover_public_cases_only(
    members: dict[str, bytes],
) -> None:
    hints = json.loads(members[f"{HANDOUT_FOLDER}/fixtures/hints.json"])["cases"]
    public = json.loads((FIXTURES_DIR / "public.json").read_text())["cases"]
    arrays = {c["id"] for c in public if "arrays" in c["expected"]}
    assert set(hints) == arrays
    hidden = json.loads((FIXTURES_DIR / "hidden.json").read_text())["cases"]
    assert not {c["id"] for c in hidden} & set(hints)
    valued = [c for c in public if c["item"].endswith((".values", ".stability"))]
    assert all(hints[c["id"]]["known"] for c in valued)
    shapes_only = [c for c in public if c["item"].endswith(".shapes")]
    for (
        case
    ) in shapes_only:  # a shapes case ships the known mistakes' shapes, not values
        assert all(
            a["data"] is None for k in hints[case["id"]]["known"] for a in k["arrays"]
        )
    multi_head = [c["id"] for c in public if c["function"] == "multi_head_attention"]
    assert all("steps" in hints[i] for i in multi_head if i in hints)


def test_handout_ships_the_graders_very_judge(members: dict[str, bytes]) -> None:
    for name in shipped_judge():
        shipped = members[f"{HANDOUT_FOLDER}/{SELFCHECK_PACKAGE}/{name}"]
        assert shipped == (PACKAGE_DIR / name).read_bytes(), name


def test_the_comparison_exists_once() -> None:
    """The deliveries carry no comparison of their own: neither check.py nor the Otter
    checks name a tolerance or a numpy comparison in their code."""
    own = {
        "rtol",
        "atol",
        "TOLERANCES",
        "allclose",
        "isclose",
        "array_equal",
        "unravel_index",
    }
    for path in (STUDENT_DIR / "check.py", OTTER_DIR / "checks.py"):
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not names & own, (path.name, names & own)


@pytest.mark.parametrize("module", ["scipy", "torch"])
def test_self_check_names_an_unavailable_import_as_the_grader_does(
    unpacked: Path, numpy_home: Path, module: str
) -> None:
    text = f"import {module}\n\n" + (EXAMPLES / "correct.py").read_text()
    (unpacked / "mhsa.py").write_text(text)
    done = self_check(unpacked, numpy_home)
    assert done.returncode == 1
    sentence = unavailable_module(module)
    assert sentence in done.stdout, done.stdout
    assert "defines no function" not in done.stdout


def test_self_check_refuses_an_installed_package_the_grader_lacks(
    unpacked: Path,
) -> None:
    text = "import jsonschema\n\n" + (EXAMPLES / "correct.py").read_text()
    (unpacked / "mhsa.py").write_text(text)
    done = self_check(unpacked, None)  # jsonschema is installed here, not in the grader
    assert done.returncode == 1
    assert unavailable_module("jsonschema") in done.stdout


def test_self_check_names_k_t_on_a_batch_as_the_grader_does(
    unpacked: Path, numpy_home: Path
) -> None:
    (unpacked / "mhsa.py").write_text((CATALOGUE / "kt_batched.py").read_text())
    done = self_check(unpacked, numpy_home)
    assert (
        "likely cause: Q @ K^T does not line up: `K.T` on a batched array"
        in done.stdout
    )
    assert "Traceback" not in done.stdout + done.stderr


def test_self_check_shows_what_the_code_prints(
    unpacked: Path, numpy_home: Path
) -> None:
    (unpacked / "mhsa.py").write_text(
        (CATALOGUE / "correct" / "debug_prints.py").read_text()
    )
    done = self_check(unpacked, numpy_home)
    assert done.returncode == 0, done.stdout
    assert "your code printed:" in done.stdout
    assert "    | " in done.stdout


def test_self_check_json_is_machine_readable(unpacked: Path, numpy_home: Path) -> None:
    (unpacked / "mhsa.py").write_text((EXAMPLES / "no_scale.py").read_text())
    done = self_check(unpacked, numpy_home, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    public = json.loads((FIXTURES_DIR / "public.json").read_text())["cases"]
    assert [c["name"] for c in report["checks"]] == [c["id"] for c in public]
    failed = [c for c in report["checks"] if not c["passed"]]
    assert failed and all(c["likely_cause"] for c in failed)
    assert report["total"] < report["max_total"] == 10


@pytest.mark.parametrize(
    "prefix",
    [b"\xef\xbb\xbf", b"# -*- coding: latin-1 -*-\n# caf\xe9\n"],
    ids=["bom", "latin-1"],
)
def test_self_check_decodes_files_as_the_grader_does(
    unpacked: Path, numpy_home: Path, prefix: bytes
) -> None:
    (unpacked / "mhsa.py").write_bytes(prefix + (EXAMPLES / "correct.py").read_bytes())
    done = self_check(unpacked, numpy_home)
    assert done.returncode == 0, done.stdout + done.stderr
