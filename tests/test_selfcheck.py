"""The student self-check (student/check.py): right verdicts, messages and estimates.

check.py runs as students run it, in a subprocess on a file. The runs are started together
once per module (each includes a mypy run, a few seconds), then each test reads its report.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "student" / "check.py"
EXAMPLES = ROOT / "examples" / "submissions"
EXPECTED = json.loads((EXAMPLES / "EXPECTED.json").read_text())
PUBLIC_CASES = len(
    json.loads((ROOT / "autograder" / "fixtures" / "public.json").read_text())["cases"]
)
CORRECT = (EXAMPLES / "correct.py").read_text()

# Variants of correct.py that each probe one behaviour of the self-check.
VARIANTS = {
    "in_place.py": CORRECT.replace(
        "    scores = np.matmul(Q, np.swapaxes(K, -2, -1)) * scale\n",
        "    Q *= scale\n    scores = np.matmul(Q, np.swapaxes(K, -2, -1))\n",
    ),
    "float32.py": CORRECT.replace(
        "    output: np.ndarray = np.matmul(attention_weights, V)\n",
        "    output: np.ndarray = np.matmul(attention_weights, V).astype(np.float32)\n",
    ),
    "always_raises.py": CORRECT.replace(
        "    batch_size, seq_len, hidden_dim = inputs.shape\n",
        "    raise ValueError('no')\n    batch_size, seq_len, hidden_dim = inputs.shape\n",
    ),
    "untyped.py": CORRECT.replace("    scale: float,\n", "    scale,\n"),
    "syntax_error.py": "def create_qkv(:\n    pass\n",
}


def run_check(path: Path) -> subprocess.CompletedProcess[str]:
    """check.py on one file, as a student would run it."""
    return subprocess.run(
        [sys.executable, str(CHECK), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def reports(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every example and variant, checked concurrently: file name -> finished run."""
    folder = tmp_path_factory.mktemp("variants")
    paths = {name: EXAMPLES / name for name in EXPECTED}
    for name, text in VARIANTS.items():
        assert text != CORRECT or name == "syntax_error.py", f"{name}: no change"
        (folder / name).write_text(text)
        paths[name] = folder / name
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = dict(zip(paths, pool.map(run_check, paths.values())))
    return runs


def case_lines(output: str) -> list[str]:
    """The check50-style verdict lines (':)' or ':(') of one report."""
    return [line for line in output.splitlines() if re.match(r":[()] ", line)]


def estimates(output: str) -> dict[str, tuple[float, float, str]]:
    """Rubric item -> (estimated points, points, reason) from the estimate table."""
    rows = re.finditer(r"^  (\S+) +([\d.]+) / +([\d.]+) *(.*)$", output, re.M)
    return {m[1]: (float(m[2]), float(m[3]), m[4]) for m in rows}


def test_skeleton_fails_every_case_says_not_implemented_and_scores_zero(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    run = reports["skeleton.py"]
    assert run.returncode == 1
    failed = [line for line in case_lines(run.stdout) if line.startswith(":(")]
    assert len(failed) == PUBLIC_CASES
    assert run.stdout.count("not implemented yet") >= PUBLIC_CASES
    assert estimates(run.stdout)["total"][0] == 0.0
    assert "hidden cases" in run.stdout


def test_correct_submission_passes_every_check(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    run = reports["correct.py"]
    assert run.returncode == 0, run.stdout
    lines = case_lines(run.stdout)
    assert all(line.startswith(":)") for line in lines)
    assert len(lines) >= PUBLIC_CASES + 2  # the cases, the names, the annotations
    assert estimates(run.stdout)["total"] == (10.0, 10.0, "")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_estimate_keeps_and_loses_the_items_expected_json_lists(
    reports: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    rows = estimates(reports[name].stdout)
    for item in EXPECTED[name]["full"]:
        assert rows[item][0] == rows[item][1], (item, rows[item])
    for item in EXPECTED[name]["lose"]:
        assert rows[item][0] < rows[item][1], (item, rows[item])
    assert reports[name].returncode == (0 if not EXPECTED[name]["lose"] else 1)


def test_alias_name_is_accepted_and_named(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    output = reports["loop_heads.py"].stdout
    assert "found multi_head_self_attention" in output
    assert ":) multi_head_self_attention values match" in output


def test_modifying_an_argument_in_place_fails_that_case(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    run = reports["in_place.py"]
    assert run.returncode == 1
    assert "modified its argument `Q` in place" in run.stdout
    failed = [line for line in case_lines(run.stdout) if line.startswith(":(")]
    assert failed and all("scaled_dot_product_attention" in line for line in failed)


def test_float32_results_are_accepted_within_float32_tolerance(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    run = reports["float32.py"]
    assert run.returncode == 0, run.stdout


def test_bad_heads_not_counted_when_the_function_always_raises(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    output = reports["always_raises.py"].stdout
    assert ":) multi_head_attention raises ValueError" in output
    earned, _, reason = estimates(output)["mha.bad_heads"]
    assert earned == 0.0 and "not counted" in reason


def test_missing_annotation_is_named_and_costs_the_typing_point(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    run = reports["untyped.py"]
    assert run.returncode == 1
    assert "parameter `scale`" in run.stdout
    assert estimates(run.stdout)["typing"][0] == 0.0


def test_syntax_error_is_reported_with_its_line(
    reports: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    run = reports["syntax_error.py"]
    assert run.returncode == 1
    assert ":( syntax_error.py imports" in run.stdout
    assert "syntax error at line 1" in run.stdout
    assert estimates(run.stdout)["total"][0] == 0.0
