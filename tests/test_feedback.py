"""Feedback a student can read: each cause once, short, safe Markdown, nothing counted about
hidden cases, and a 0-point item never shown as failed on Gradescope.

A few submissions written for these checks are graded once, in one batch.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from autograder.pipeline.batch import grade_folder
from autograder.score.result import GradeResult
from tests.conftest import EXAMPLES, TEST_LIMITS

CORRECT = (EXAMPLES / "correct.py").read_text()
SUBMISSIONS = {
    "skeleton.py": (EXAMPLES / "skeleton.py").read_text(),
    "imports_scipy.py": "from scipy.special import softmax\n\n" + CORRECT,
    "imports_torch.py": "import torch\n\n" + CORRECT,
    "arrow_error.py": CORRECT.replace(
        "    batch_size, seq_len, hidden_dim = inputs.shape\n",
        "    raise ValueError('shapes (B, L) -> (B, h, L) <bad> & more')\n",
        1,
    ),
    "unformatted.py": CORRECT.replace("import numpy as np", "import numpy as np  ;", 1)
    + "\nx = [1,2,\n  3]\n",
    "no_scale.py": (EXAMPLES / "no_scale.py").read_text(),
    # create_qkv hangs only on the multi-head example's inputs, which no graded create_qkv
    # case uses: only the evidence gathered for a failing multi-head case meets it.
    "slow_evidence.py": CORRECT.replace(
        "    Q = np.matmul(inputs, weights_q)\n",
        "    while inputs.shape == (1, 5, 32):\n        pass\n"
        "    Q = np.matmul(inputs, weights_q)\n",
        1,
    )
    .replace(
        "    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)\n",
        "    Q, K, V = (inputs @ w for w in (weights_q, weights_k, weights_v))\n",
        1,
    )
    .replace(
        "    return output\n\n\ndef main",
        "    return output * 1.5\n\n\ndef main",
        1,
    ),
}


@pytest.fixture(scope="module")
def graded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, GradeResult], Path]:
    """The submissions above, graded in one batch: results by id, and OUT."""
    folder = tmp_path_factory.mktemp("feedback-in")
    for name, text in SUBMISSIONS.items():
        (folder / name).write_text(text)
    assert "raise ValueError" in SUBMISSIONS["arrow_error.py"]
    out = tmp_path_factory.mktemp("feedback-out")
    results = grade_folder(folder, out, jobs=2, limits=TEST_LIMITS, quiet=True)
    return {r.submission: r for r in results}, out


def feedback(out: Path, name: str) -> str:
    return (out / name / "feedback.md").read_text()


def document(out: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / name / "results.json").read_text())
    return data


def test_skeleton_feedback_fits_in_25_lines(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    text = feedback(graded[1], "skeleton")
    assert len(text.splitlines()) <= 25, text
    for function in (
        "create_qkv",
        "scaled_dot_product_attention",
        "multi_head_attention",
    ):
        assert text.count(f"`{function}` is not implemented yet") == 1


@pytest.mark.parametrize(
    "name,module", [("imports_scipy", "scipy"), ("imports_torch", "torch")]
)
def test_an_unavailable_import_is_said_once_in_12_lines(
    graded: tuple[dict[str, GradeResult], Path], name: str, module: str
) -> None:
    text = feedback(graded[1], name)
    assert len(text.splitlines()) <= 12, text
    sentence = f"your file imports `{module}`, which is not available to the grader"
    assert text.count(sentence) == 1
    everything = json.dumps(document(graded[1], name))
    assert everything.count(sentence) == 1
    assert graded[0][name].score == 0


def test_each_cause_is_stated_once_with_the_items_it_affects(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    cause = "the scores Q @ K^T were never multiplied by `scale`"
    text = feedback(graded[1], "no_scale")
    assert text.count(cause) == 1
    line = next(row for row in text.splitlines() if cause in row)
    assert (
        "scaled_dot_product_attention: values (2 public checks and hidden ones)" in line
    )
    assert "multi_head_attention: values" in line
    results = document(graded[1], "no_scale")
    assert json.dumps(results).count(cause.replace("`", "`")) == 1
    item_outputs = [
        t["output"] for t in results["tests"] if t["score"] < t["max_score"]
    ]
    assert item_outputs and all("(cause 1 above)" in output for output in item_outputs)


def test_hidden_checks_carry_no_counts(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    for name in graded[0]:
        text = feedback(graded[1], name) + json.dumps(document(graded[1], name))
        assert "in every value" not in text and "in some values" not in text
        assert not re.search(r"\d+ hidden check", text)
        assert not re.search(r"\(\d+x\)", text)


def test_student_text_in_code_spans_has_no_html_entities(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    text = feedback(graded[1], "arrow_error")
    assert "&gt;" not in text and "&lt;" not in text and "&amp;" not in text
    assert "`shapes (B, L) -> (B, h, L) <bad> & more`" in text
    results = json.dumps(document(graded[1], "arrow_error"))
    assert "&gt;" not in results and "&lt;" not in results


def test_the_zero_point_formatting_item_is_never_a_failed_test(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    result, out = graded[0]["unformatted"], graded[1]
    assert result.black_note and "reformat" in result.black_note
    assert result.score == result.max_score
    tests = document(out, "unformatted")["tests"]
    formatting = next(t for t in tests if t["tags"] == ["formatting"])
    assert formatting["status"] == "passed" and formatting["max_score"] == 0
    assert formatting["output"].startswith("Advice only (0 points)")
    assert all(t["status"] == "passed" for t in tests)


def test_evidence_calls_stay_within_the_budget_and_change_no_status(
    graded: tuple[dict[str, GradeResult], Path],
) -> None:
    result = graded[0]["slow_evidence"]
    assert result.status == "ok", result.status_message
    # The looping evidence call ran into a deadline (its CPU time's or the wall clock's,
    # whichever came first) and the submission's budget was never exceeded.
    deadline = min(TEST_LIMITS.call_seconds, TEST_LIMITS.call_cpu_seconds)
    assert deadline <= result.seconds < TEST_LIMITS.submission_seconds
    scores = {item.id: item.score for item in result.items}
    assert scores["qkv.values"] == 1.5 and scores["mha.values"] < 2.5


def test_a_correct_submission_is_told_so_briefly(
    graded: tuple[dict[str, GradeResult], Path], tmp_path: Path
) -> None:
    text = feedback(graded[1], "unformatted")
    assert "Every rubric item earned full points." in text
    assert len(text.splitlines()) <= 20
    shutil.rmtree(tmp_path)
