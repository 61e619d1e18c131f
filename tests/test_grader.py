"""Does the grader grade right? Scores of known submissions, gates, and hostile tricks."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from autograder.report.gradebook import FIXED_COLUMNS
from autograder.report.results_json import SCHEMA_FILE
from autograder.score.rubric import load_rubric
from tests.conftest import EXAMPLES, TEST_LIMITS, GradedBatch

EXPECTED = json.loads((EXAMPLES / "EXPECTED.json").read_text())


def item_scores(graded: GradedBatch, submission: str) -> dict[str, tuple[float, float]]:
    """Item id -> (score, max score)."""
    return {i.id: (i.score, i.max_score) for i in graded.results[submission].items}


def test_reference_scores_full_marks(graded: GradedBatch) -> None:
    assert graded.results["reference"].score == 10
    assert graded.results["reference"].status == "ok"


def test_skeleton_scores_zero(graded: GradedBatch) -> None:
    result = graded.results["skeleton"]
    assert result.score == 0
    typing = next(i for i in result.items if i.id == "typing")
    assert "correctness points" in typing.gate_note


def test_correct_loop_over_heads_scores_full_marks(graded: GradedBatch) -> None:
    assert graded.results["loop_heads"].score == 10


@pytest.mark.parametrize("file_name", sorted(EXPECTED))
def test_bundled_example_earns_and_loses_what_its_rubric_items_say(
    graded: GradedBatch, file_name: str
) -> None:
    scores = item_scores(graded, Path(file_name).stem)
    for item in EXPECTED[file_name]["full"]:
        assert scores[item][0] == scores[item][1], f"{file_name} should keep {item}"
    for item in EXPECTED[file_name]["lose"]:
        assert scores[item][0] < scores[item][1], f"{file_name} should lose {item}"


def test_mistakes_are_named_in_feedback(graded: GradedBatch) -> None:
    feedback = (graded.out / "softmax_wrong_axis" / "feedback.md").read_text()
    assert "wrong axis" in feedback
    feedback = (graded.out / "no_scale" / "feedback.md").read_text()
    assert "without the scale" in feedback


def test_replacing_numpy_comparisons_gains_nothing(graded: GradedBatch) -> None:
    # It returns zeros of the right shapes: the shape items are all it may earn.
    scores = item_scores(graded, "patches_allclose")
    earned = {item for item, (score, _) in scores.items() if score > 0}
    assert earned == {"qkv.shapes", "sdpa.shapes", "mha.shapes"}


def test_objects_pretending_to_be_arrays_gain_nothing(graded: GradedBatch) -> None:
    result = graded.results["fake_arrays"]
    assert result.score == 0
    messages = " ".join(r.message for i in result.items for r in i.results)
    assert "not a numpy array" in messages


def test_hang_in_one_function_keeps_the_others_points(graded: GradedBatch) -> None:
    result = graded.results["hangs_in_attention"]
    scores = item_scores(graded, "hangs_in_attention")
    for item in (
        "qkv.values",
        "qkv.shapes",
        "mha.values",
        "mha.shapes",
        "mha.bad_heads",
    ):
        assert scores[item][0] == scores[item][1], item
    for item in ("sdpa.values", "sdpa.stability", "sdpa.shapes"):
        assert scores[item][0] == 0, item
    assert result.status == "timeout"
    assert "did not return within" in result.status_message
    assert result.seconds < TEST_LIMITS.submission_seconds + 10


def test_syntax_error_is_reported_with_its_line(graded: GradedBatch) -> None:
    result = graded.results["syntax_error"]
    assert result.score == 0
    assert result.status == "syntax"
    assert "line 4" in result.status_message
    assert "line 4" in graded.results_json("syntax_error")["output"]  # type: ignore[operator]


def test_bad_heads_needs_results_for_valid_inputs(graded: GradedBatch) -> None:
    item = next(
        i for i in graded.results["always_raises"].items if i.id == "mha.bad_heads"
    )
    assert item.passed == item.total
    assert item.score == 0
    assert "always raises" in item.gate_note


def test_modifying_an_argument_in_place_fails_that_case(graded: GradedBatch) -> None:
    item = next(
        i for i in graded.results["scales_in_place"].items if i.id == "sdpa.values"
    )
    assert item.score == 0
    assert all("in place" in r.message and "`Q`" in r.message for r in item.results)


def test_ignore_comments_do_not_silence_mypy(graded: GradedBatch) -> None:
    scores = item_scores(graded, "silences_mypy")
    assert scores["mha.values"] == (2.5, 2.5)
    assert scores["typing"][0] == 0
    typing = next(i for i in graded.results["silences_mypy"].items if i.id == "typing")
    assert "mypy reports" in typing.results[0].message


def test_alias_name_is_accepted_and_reported(graded: GradedBatch) -> None:
    assert graded.results["loop_heads"].found_names["multi_head_attention"] == (
        "multi_head_self_attention"
    )
    assert "multi_head_self_attention" in graded.results_json("loop_heads")["output"]  # type: ignore[operator]


def test_every_results_json_fits_gradescope_schema(graded: GradedBatch) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    for submission, result in graded.results.items():
        document = graded.results_json(submission)
        jsonschema.validate(document, schema)
        assert document["score"] == result.score
        tests = document["tests"]
        assert isinstance(tests, list)
        assert sum(t["score"] for t in tests) == pytest.approx(result.score)


def test_gradebook_has_a_row_per_submission_and_a_column_per_item(
    graded: GradedBatch,
) -> None:
    rows = graded.gradebook()
    assert {row["submission"] for row in rows} == set(graded.results)
    item_ids = [item.id for item in load_rubric().items]
    assert list(rows[0]) == [*FIXED_COLUMNS, *item_ids]
    for row in rows:
        assert float(row["score"]) == pytest.approx(
            sum(float(row[item]) for item in item_ids), abs=0.02
        )


def test_hidden_case_data_never_reaches_feedback(graded: GradedBatch) -> None:
    from autograder.cases.casebook import load_cases

    hidden = [c for c in load_cases() if c.visibility == "hidden"]
    for submission in graded.results:
        text = (graded.out / submission / "feedback.md").read_text()
        text += (graded.out / submission / "results.json").read_text()
        for case in hidden:
            assert case.description not in text
            for want in case.expected:
                assert f"{float(want.flat[0]):.6g}" not in text


def test_an_import_failure_is_blamed_on_the_import_not_on_functions(
    graded: GradedBatch,
) -> None:
    result = graded.results["fails_at_import"]
    assert result.status == "import_error"
    assert "line 5" in result.status_message
    messages = [
        r.message
        for i in result.items
        for r in i.results
        if i.id not in ("typing", "formatting")
    ]
    assert messages
    assert all(
        m.startswith("importing your file raised ZeroDivisionError") for m in messages
    )
