"""The Gradescope autograder zip, used the way Gradescope uses it: built by ``make
autograder``'s builder, unpacked into a Gradescope-shaped tree (source/, submission/,
results/, submission_metadata.json), and ``run_autograder`` run once per submission."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from autograder.deliver.package import main as build
from autograder.report.results_json import SCHEMA_FILE
from tests.conftest import (
    EXAMPLES,
    INTAKE,
    REFERENCE,
    TEST_LIMITS,
    UID_MODE_OBSTACLE,
    GradedBatch,
    needs_uid_mode,
)

PROBE = '''"""Reports who runs it and what it can read, through the message of its exception."""

import os

import numpy as np


def seen(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        return "readable"
    except OSError as exc:
        return type(exc).__name__


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise RuntimeError(
        f"probe uid={{os.getuid()}} fixtures={{seen({fixtures!r})}} "
        f"metadata={{seen({metadata!r})}}"
    )
'''
PROBE_REPORT = re.compile(r"probe uid=(\d+) fixtures=(\w+) metadata=(\w+)")


@dataclass
class Run:
    """One run_autograder run: its tree, its results.json and its stdout."""

    root: Path
    results: dict[str, object]
    stdout: str
    returncode: int

    def tests(self) -> list[dict[str, object]]:
        """The results.json tests."""
        tests = self.results["tests"]
        assert isinstance(tests, list)
        return tests


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/autograder.zip, built as ``make autograder`` builds it."""
    out = tmp_path_factory.mktemp("dist") / "autograder.zip"
    assert build(["autograder", "--out", str(out)]) == 0
    return out


def gradescope_tree(archive: Path, files: dict[str, str]) -> Path:
    """A Gradescope-shaped tree under /tmp, traversable by others as /autograder is."""
    root = Path(tempfile.mkdtemp(prefix="mhsa-gradescope-"))
    root.chmod(0o755)
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir()
    with zipfile.ZipFile(archive) as unpacked:
        unpacked.extractall(root / "source")
    for member in ("run_autograder", "setup.sh"):
        (root / "source" / member).chmod(0o755)
    for name, text in files.items():
        (root / "submission" / name).write_text(text)
    metadata = {
        "id": 1,
        "users": [{"name": "Ada Lovelace", "email": "ada@example.edu"}],
    }
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    return root


@pytest.fixture(scope="module")
def runs(autograder_zip: Path) -> Iterator[dict[str, Run]]:
    """run_autograder on several submissions at once, each in its own tree."""
    skeleton = (EXAMPLES / "skeleton.py").read_text()
    submissions: dict[str, dict[str, str]] = {
        # a helper file beside mhsa.py: the grader must pick mhsa.py
        "reference": {"mhsa.py": REFERENCE.read_text(), "helpers.py": "X = 1\n"},
        "skeleton": {"skeleton.py": skeleton},
        "no_scale": {"no_scale.py": (EXAMPLES / "no_scale.py").read_text()},
        "probe": {},
        "probe_uid_mode": {},  # as in a container that refuses namespaces
        "empty": {"notes.txt": "I forgot the code\n"},
        "broken_grader": {"mhsa.py": skeleton},
        "broken_environment": {"mhsa.py": skeleton},
        "notebook": {},
    }
    roots = {
        name: gradescope_tree(autograder_zip, files)
        for name, files in submissions.items()
    }
    for name in ("probe", "probe_uid_mode"):
        probe = PROBE.format(
            fixtures=str(roots[name] / "source/autograder/fixtures/hidden.json"),
            metadata=str(roots[name] / "submission_metadata.json"),
        )
        (roots[name] / "submission" / "mhsa.py").write_text(probe)
    (roots["broken_grader"] / "source/autograder/score/rubric.json").write_text(
        "{not json"
    )
    # A machine where correct code loses points (here: the known-good file itself is
    # wrong, standing in for any fault of the environment): no score may be recorded.
    (
        roots["broken_environment"] / "source/autograder/pipeline/known_good.py"
    ).write_text((EXAMPLES / "no_scale.py").read_text())
    shutil.copy(
        INTAKE / "notebooks" / "jupyter_saved.ipynb",
        roots["notebook"] / "submission" / "Homework 3.ipynb",
    )
    env = {
        **os.environ,
        "MHSA_PYTHON": sys.executable,
        "MHSA_CALL_SECONDS": str(TEST_LIMITS.call_seconds),
    }
    env.pop("PYTHONPATH", None)
    started = {
        name: subprocess.Popen(
            ["bash", str(root / "source" / "run_autograder")],
            env={
                **env,
                "AUTOGRADER_ROOT": str(root),
                "MHSA_NO_NAMESPACES": "1" if name == "probe_uid_mode" else "",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, root in roots.items()
    }
    done = {}
    for name, process in started.items():
        stdout, _ = process.communicate(timeout=300)
        results = roots[name] / "results" / "results.json"
        document = json.loads(results.read_text()) if results.exists() else {}
        done[name] = Run(roots[name], document, stdout, process.returncode)
    yield done
    for root in roots.values():
        shutil.rmtree(root, ignore_errors=True)


def test_setup_and_run_autograder_sit_at_the_zip_root_and_are_executable(
    autograder_zip: Path,
) -> None:
    with zipfile.ZipFile(autograder_zip) as archive:
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, script
    assert "pyproject.toml" in modes
    assert "autograder/fixtures/hidden.json" in modes
    assert (
        "autograder/pipeline/known_good.py" in modes
    )  # the preflight's submission ships too


def test_zip_holds_no_solution_no_venv_and_no_bulk(autograder_zip: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    forbidden = (
        "solution/",
        "tests/",
        "examples/",
        "student/",
        ".venv",
        "dist/",
        "out/",
    )
    assert not [n for n in names if n.startswith(forbidden)]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert sum(i.file_size for i in infos) < 2 << 20


def test_the_same_sources_build_the_same_zip(
    autograder_zip: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.zip"
    assert build(["autograder", "--out", str(again)]) == 0
    assert again.read_bytes() == autograder_zip.read_bytes()


@pytest.mark.parametrize("name", ["reference", "skeleton", "no_scale"])
def test_gradescope_scores_equal_make_grade(
    runs: dict[str, Run], graded: GradedBatch, name: str
) -> None:
    run = runs[name]
    expected = graded.results_json(name)
    assert run.returncode == 0, run.stdout
    assert run.results["score"] == expected["score"]
    assert run.tests() == expected["tests"]


def test_reference_full_marks_skeleton_zero(runs: dict[str, Run]) -> None:
    assert runs["reference"].results["score"] == 10
    assert runs["skeleton"].results["score"] == 0
    assert 0 < runs["no_scale"].results["score"] < 10  # type: ignore[operator]


def test_every_results_json_fits_gradescope_schema(runs: dict[str, Run]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    for name, run in runs.items():
        if name.startswith("broken") or (
            name == "probe_uid_mode" and UID_MODE_OBSTACLE is not None
        ):
            continue  # no results.json: a grader fault records no score
        jsonschema.validate(run.results, schema)
        assert run.results["visibility"] == "visible", name
        assert run.results["stdout_visibility"] == "hidden", name


def test_submission_output_explains_the_score(runs: dict[str, Run]) -> None:
    output = runs["no_scale"].results["output"]
    assert isinstance(output, str)
    assert "**Score: 5.83 / 10**" in output
    assert "In scaled_dot_product_attention: values" in output
    assert "without the scale" in output


def test_hidden_failures_show_no_inputs_indexes_or_expected_values(
    runs: dict[str, Run],
) -> None:
    outputs = [str(runs["no_scale"].results["output"])]
    outputs += [str(test["output"]) for test in runs["no_scale"].tests()]
    hidden_lines = [
        line for output in outputs for line in output.splitlines() if "hidden" in line
    ]
    assert hidden_lines, "no_scale fails hidden cases"
    for line in hidden_lines:
        assert not re.search(r"expected -?\d|index \(|shape \(|got -?\d", line), line


@pytest.mark.parametrize(
    "name", ["probe", pytest.param("probe_uid_mode", marks=needs_uid_mode)]
)
def test_student_code_runs_unprivileged_and_cannot_read_the_kit(
    runs: dict[str, Run], name: str
) -> None:
    messages = str(runs[name].results["output"])  # public cases' details
    report = PROBE_REPORT.search(messages)
    assert report, messages
    uid, fixtures, metadata = int(report[1]), report[2], report[3]
    if os.geteuid() == 0:  # Gradescope and CI: the grader runs as root
        assert uid != 0
        assert fixtures != "readable"
        assert metadata != "readable"
    else:
        assert uid == os.getuid()


def test_grader_picks_mhsa_py_beside_other_files(runs: dict[str, Run]) -> None:
    assert "graded mhsa.py" in runs["reference"].stdout


def test_instructor_log_names_the_submitter_and_the_confinement(
    runs: dict[str, Run],
) -> None:
    stdout = runs["skeleton"].stdout
    assert "Ada Lovelace <ada@example.edu>" in stdout
    assert "student code confinement:" in stdout


def test_a_submission_without_python_gets_a_zero_and_a_reason(
    runs: dict[str, Run],
) -> None:
    run = runs["empty"]
    assert run.results["score"] == 0
    assert "no .py or .ipynb file was submitted" in str(run.results["output"])


@pytest.mark.parametrize("name", ["broken_grader", "broken_environment"])
def test_a_fault_of_the_grader_records_no_score(
    runs: dict[str, Run], name: str
) -> None:
    # Gradescope shows "The autograder failed to execute correctly" when results.json is
    # missing, and records no score; the cause is in the instructor-only log.
    run = runs[name]
    assert not (run.root / "results" / "results.json").exists()
    assert run.returncode != 0
    assert "no score was recorded" in run.stdout


def test_the_log_names_the_cause_of_a_broken_environment(runs: dict[str, Run]) -> None:
    stdout = runs["broken_environment"].stdout
    assert "the grading environment is broken" in stdout
    assert "known to be correct scored" in stdout
    assert "Traceback" in runs["broken_grader"].stdout


def test_a_notebook_is_graded_from_its_code_cells(runs: dict[str, Run]) -> None:
    run = runs["notebook"]
    assert run.returncode == 0, run.stdout
    assert run.results["score"] == 10
    output = str(run.results["output"])
    assert "graded from its code cells" in output and "`%matplotlib inline`" in output
    assert "graded Homework 3.ipynb" in run.stdout


def test_run_autograder_closes_the_kit_and_the_submission_to_others(
    runs: dict[str, Run],
) -> None:
    root = runs["reference"].root
    for path in ("source", "submission", "results", "submission_metadata.json"):
        mode = (root / path).stat().st_mode
        assert not mode & (stat.S_IRWXG | stat.S_IRWXO), path
