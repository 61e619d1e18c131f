"""The Otter-Grader export (``make otter``): one test file per rubric item with its points,
no hidden expected values shipped, and ``otter run`` giving every bundled example the total
``make grade`` gives it."""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.config import FIXTURES_DIR, PACKAGE_DIR
from autograder.deliver.package import OTTER_PACKAGE, shipped_judge
from autograder.deliver.package import main as build
from autograder.judge.compare import TOLERANCES
from autograder.judge.digests import cell_digest, centring_offsets
from autograder.score.rubric import load_rubric
from tests.conftest import CRAFTED, EXAMPLES, GradedBatch

# Every bundled example, and the crafted file that replaces numpy's comparisons.
GRADED_BY_OTTER = sorted(EXAMPLES.glob("*.py")) + [CRAFTED / "patches_allclose.py"]


@pytest.fixture(scope="module")
def otter_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/otter-autograder.zip, built as ``make otter`` builds it."""
    out = tmp_path_factory.mktemp("dist") / "otter-autograder.zip"
    assert build(["otter", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def members(otter_zip: Path) -> dict[str, str]:
    """Every text file of the export."""
    with zipfile.ZipFile(otter_zip) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


# jupyter_client picks a kernel's ports free, then the kernel binds them: two kernels
# started at once can pick the same port, and the later one dies at start.
PORT_RACE = "Address already in use"
RUNS_PER_FILE = 3


def otter_total(otter_zip: Path, submission: Path, out: Path) -> float:
    """``otter run -a otter_zip submission``: the sum of its test scores (run again
    only when its kernel lost the port race above)."""
    out.mkdir()
    for _ in range(RUNS_PER_FILE):
        done = subprocess.run(
            [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(otter_zip)]
            + ["-o", str(out), str(submission)],
            cwd=out,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode == 0 or PORT_RACE not in done.stdout + done.stderr:
            break
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text())
    return float(sum(test.get("score", 0) for test in results["tests"]))


@pytest.fixture(scope="module")
def otter_totals(
    otter_zip: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, float]:
    """Each graded file's Otter total, two ``otter run`` at a time."""
    root = tmp_path_factory.mktemp("otter-runs")
    with ThreadPoolExecutor(2) as pool:
        totals = {
            path.stem: pool.submit(otter_total, otter_zip, path, root / path.stem)
            for path in GRADED_BY_OTTER
        }
        return {name: future.result() for name, future in totals.items()}


def test_one_test_file_per_rubric_item_with_its_points(members: dict[str, str]) -> None:
    declared = {}
    for name, text in members.items():
        if name.startswith("tests/"):
            values = {
                node.targets[0].id: ast.literal_eval(node.value)
                for node in ast.parse(text).body
                if isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
            }
            declared[values["name"]] = values["points"]
    assert declared == {item.id: item.points for item in load_rubric().items}


def test_export_pins_the_kits_versions(members: dict[str, str]) -> None:
    environment = members["environment.yml"]
    for pin in ("numpy==", "mypy==", "black==", "otter-grader[grading,plugins]==7.0.0"):
        assert pin in environment


def test_export_ships_hidden_inputs_but_no_hidden_expected_values(
    members: dict[str, str],
) -> None:
    shipped = "".join(members.values())
    hidden = json.loads((FIXTURES_DIR / "hidden.json").read_text())["cases"]
    arrays = [a for case in hidden for a in case["expected"].get("arrays", [])]
    assert arrays
    for array in arrays:
        for value in array["data"][:5]:
            assert repr(value) not in shipped
    inputs = hidden[0]["args"][0]["array"]["data"]
    assert repr(inputs[0]) in shipped  # the inputs are there: Otter calls with them


def test_hidden_cells_accept_values_within_half_width_and_reject_beyond() -> None:
    expected = [0.123456789, -3.5, 1234.5678, 0.0, 7e-9]
    width = 2 * (1e-8 + 1e-5 * max(abs(v) for v in expected))
    offsets = centring_offsets(expected, width)
    digest = cell_digest(expected, offsets, width, "salt")
    for shift in (0.49, -0.49, 0.1):
        near = [v + shift * width for v in expected]
        assert cell_digest(near, offsets, width, "salt") == digest
    for index in range(len(expected)):
        far = list(expected)
        far[index] += 0.51 * width
        assert cell_digest(far, offsets, width, "salt") != digest
    assert cell_digest(expected, offsets, width, "other") != digest
    assert all(abs(o) <= width / 2 for o in offsets)


def test_export_ships_the_graders_very_judge(otter_zip: Path) -> None:
    with zipfile.ZipFile(otter_zip) as archive:
        names = archive.namelist()
        for name in shipped_judge():
            shipped = next(n for n in names if n.endswith(f"{OTTER_PACKAGE}/{name}"))
            assert archive.read(shipped) == (PACKAGE_DIR / name).read_bytes(), name


def test_hidden_cells_exist_for_float64_and_float32(members: dict[str, str]) -> None:
    cases_json = next(t for n, t in members.items() if n.endswith("cases.json"))
    hidden = [c for c in json.loads(cases_json)["cases"] if "cells" in c["expected"]]
    assert hidden
    for case in hidden:
        for cells in case["expected"]["cells"]:
            assert set(cells["by_dtype"]) == set(TOLERANCES)
            widths = cells["by_dtype"]
            assert widths["float32"]["width"] > widths["float64"]["width"]


@pytest.mark.parametrize("path", GRADED_BY_OTTER, ids=lambda p: p.stem)
def test_otter_total_equals_make_grade(
    otter_totals: dict[str, float], graded: GradedBatch, path: Path
) -> None:
    kit = graded.results[path.stem].score
    assert math.isclose(
        otter_totals[path.stem], kit, abs_tol=0.006
    ), f"{path.name}: otter {otter_totals[path.stem]:.4f}, make grade {kit}"
