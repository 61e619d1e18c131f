"""Diagnosis, in-process: replayed known mistakes, exception readings, localisation by
experiment, the look across cases, float32, bad head counts, and what a hidden case's message
may (not) say. Every fallback that used to guess has a test that it no longer does."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from autograder.cases.casebook import load_cases
from autograder.cases.compare import judge as grader_judge
from autograder.contract.functions import MHA, QKV, SDPA, Argument, FloatArray
from autograder.contract.outcomes import Failed, Meta, Outcome, Raised, Returned
from autograder.contract.words import describe_raised
from autograder.diagnose.catalogue import VARIANTS, Variant
from autograder.diagnose.references import reference
from autograder.diagnose.replay import Mistake, replay, split_heads
from autograder.judge.case import Case
from autograder.judge.causes import (
    EXAMPLE_SIZES,
    FLOAT32_SIZED_32,
    FLOAT32_SIZED_64,
    NO_OWN_DIVISIBILITY_CHECK,
    NO_OWN_POSITIVE_CHECK,
    OWN_CHECK_REFUSES,
    RAISE_NOT_ASSERT,
    RANK_ONLY,
    RESHAPE_MISFIT,
    RETURNS_PAIR,
    SOFTMAX_FIXED_AXIS,
    STEP_QKV,
    STEP_SDPA,
    STEP_SPLIT_MERGE,
    WHERE_QKV,
    WHERE_SDPA,
    read_exception,
)
from autograder.judge.compare import allowance
from autograder.judge.localise import localise
from autograder.judge.review import review
from autograder.judge.verdict import Verdict
from solution import mhsa as reference_solution

CASES = load_cases()
RNG = np.random.default_rng(5)


def frozen(shape: tuple[int, ...]) -> FloatArray:
    """A read-only standard normal array, as the casebook makes them."""
    array = RNG.standard_normal(shape)
    array.setflags(write=False)
    return array


def square_cases() -> list[Case]:
    """Cases where B = Lq = Lk = d, so even `K.T` and a sum without keepdims run."""
    q, k, v = frozen((3, 3, 3)), frozen((3, 3, 3)), frozen((3, 3, 3))
    inputs, weights = frozen((2, 2, 4)), [frozen((4, 4)) for _ in range(3)]
    sdpa = Case(
        "sq-sdpa", "sdpa.values", SDPA, "square", "public", (q, k, v, 0.5), (), None
    )
    mha = Case(
        "sq-mha", "mha.values", MHA, "square", "public", (inputs, *weights, 2), (), None
    )
    return [
        replace(sdpa, expected=tuple(replay(SDPA, sdpa.args, Mistake()) or [])),
        replace(mha, expected=tuple(replay(MHA, mha.args, Mistake()) or [])),
    ]


VALUE_CASES = [
    c for c in CASES + square_cases() if c.check != "shapes" and not c.raises
]


def returned(values: list[FloatArray], modified: tuple[int, ...] = ()) -> Returned:
    """What the child would send back for ``values``."""
    container = "single" if len(values) == 1 else "tuple"
    metas = tuple(Meta(str(v.dtype), tuple(v.shape)) for v in values)
    return Returned(container, len(values), metas, tuple(values), modified)


def case(case_id: str) -> Case:
    """A fixture case by id."""
    return next(c for c in CASES if c.id == case_id)


def explained_by(variant: Variant, candidates: list[Case]) -> list[str]:
    """Ids of cases where the variant's own output is diagnosed as that variant."""
    hits = []
    for c in candidates:
        if c.function not in variant.functions:
            continue
        output = replay(c.function, c.args, variant.mistakes[0])
        if output is None or all(
            a.shape == b.shape and np.allclose(a, b) for a, b in zip(output, c.expected)
        ):
            continue
        found = grader_judge(c, returned(output))
        if found.key == variant.key:
            hits.append(c.id)
    return hits


def test_catalogue_of_variants_covers_at_least_thirty_misconceptions() -> None:
    assert len(VARIANTS) >= 30
    assert len({v.key for v in VARIANTS}) == len(VARIANTS)
    assert {QKV, SDPA, MHA} <= set().union(*(v.functions for v in VARIANTS))


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.key for v in VARIANTS])
def test_each_variant_is_recognised_from_its_own_output(variant: Variant) -> None:
    assert explained_by(variant, VALUE_CASES), f"{variant.key} is never diagnosed"


def test_wrong_values_that_no_mistake_explains_get_no_diagnosis() -> None:
    for c in VALUE_CASES:
        noisy = [e + 0.5 for e in c.expected]
        assert grader_judge(c, returned(noisy)).diagnosis is None, c.id


def test_two_mistakes_at_once_are_both_named() -> None:
    c = case("sdpa-values-1")
    both = replay(SDPA, c.args, Mistake(scale="none", softmax="columns"))
    assert both is not None
    found = grader_judge(c, returned(both)).diagnosis
    assert found is not None
    assert "without the scale" in found and "wrong axis" in found


def test_nan_from_a_softmax_without_max_subtraction_is_named() -> None:
    c = case("sdpa-stability-1")
    naive = replay(SDPA, c.args, Mistake(softmax="unstable"))
    assert naive is not None and not np.isfinite(naive[0]).all()
    verdict = grader_judge(c, returned(naive))
    assert not verdict.passed
    assert "contains NaN or inf" in verdict.problem
    assert verdict.diagnosis and "max-subtraction" in verdict.diagnosis


# --- exceptions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "kind", "message", "line", "phrase"),
    [
        (
            QKV,
            "ValueError",
            "matmul: Input operand 1 has a mismatch",
            "",
            "not weights_q @",
        ),
        (SDPA, "ValueError", "matmul: Input operand 1 has a mismatch", "", "`K.T`"),
        (
            SDPA,
            "ValueError",
            "axes don't match array",
            "K.transpose(0, 2, 1)",
            "fixed axes",
        ),
        (SDPA, "ValueError", "too many values to unpack (expected 3)", "", "unpacked"),
        (SDPA, "ValueError", "operands could not be broadcast", "", "keepdims"),
        (MHA, "ValueError", "axes don't match array", "", "fixed axes"),
        (
            SDPA,
            "ValueError",
            "axes don't match array",
            "    scores = Q @ K.transpose(-2, -1)",
            "PyTorch's swap of two axes",
        ),
        (
            MHA,
            "TypeError",
            "transpose() got an unexpected keyword argument 'perm'",
            "",
            "TensorFlow's spelling",
        ),
        (
            SDPA,
            "TypeError",
            "_amax() got an unexpected keyword argument 'dim'",
            "",
            "PyTorch's names",
        ),
        (
            SDPA,
            "TypeError",
            "_sum() got an unexpected keyword argument 'keepdim'",
            "",
            "PyTorch's names",
        ),
        (
            MHA,
            "TypeError",
            "view() takes from 0 to 2 positional arguments but 4 were given",
            "    x = x.view(B, L, h, d)",
            "reinterprets the dtype",
        ),
        (
            MHA,
            "TypeError",
            "'int' object is not callable",
            "    B = x.size(0)",
            "x.shape[...]",
        ),
        (
            MHA,
            "AttributeError",
            "'numpy.ndarray' object has no attribute 'permute'",
            "",
            "PyTorch's",
        ),
        (
            MHA,
            "TypeError",
            "'float' object cannot be interpreted as an integer",
            "",
            "use `//` for sizes",
        ),
    ],
)
def test_exceptions_point_at_the_classic_mistake(
    function: str, kind: str, message: str, line: str, phrase: str
) -> None:
    c = next(c for c in CASES if c.function == function and not c.raises)
    cause = read_exception(c, Raised(kind, message, 1), [line])
    assert cause is not None and phrase in cause


def test_an_unknown_error_gets_no_diagnosis() -> None:
    c = case("sdpa-values-1")
    assert read_exception(c, Raised("ValueError", "my own message", 3)) is None
    assert read_exception(c, Raised("KeyError", "axes don't match array", 3)) is None
    # a two-argument transpose is PyTorch's only when the student's line says so
    line = ["    scores = Q @ K.transpose(0, 2, 1)"]
    found = read_exception(c, Raised("ValueError", "axes don't match array", 1), line)
    assert found is not None and "PyTorch" not in found


def test_an_exception_names_the_students_function_and_line() -> None:
    c = case("mha-values-2")
    raised = Raised("TypeError", "bad operand", 42, function="split_heads")
    verdict = grader_judge(c, raised)
    assert "line 42" in verdict.problem and "`split_heads`" in verdict.problem
    assert verdict.detail == "`bad operand`"  # public: the message, as code
    hidden = next(c for c in CASES if c.visibility == "hidden" and c.function == MHA)
    hidden_verdict = grader_judge(hidden, raised)
    # a hidden case names neither: the submission picks its lines and function names
    assert "TypeError" in hidden_verdict.problem and not hidden_verdict.detail
    assert "split_heads" not in hidden_verdict.problem
    assert "line" not in hidden_verdict.problem


def test_a_reshape_names_the_examples_sizes_only_when_its_message_shows_them() -> None:
    c = case("mha-values-2")  # B=2, L=5, D=8
    example = Raised(
        "ValueError", "cannot reshape array of size 80 into shape (1,5,4,8)", 9
    )
    assert read_exception(c, example) == EXAMPLE_SIZES
    other = Raised(
        "ValueError", "cannot reshape array of size 80 into shape (2,5,3,2)", 9
    )
    assert read_exception(c, other) == RESHAPE_MISFIT
    own = Raised("ValueError", "num_heads must divide D", 9, raised_here=True)
    assert read_exception(c, own) == OWN_CHECK_REFUSES


# --- localisation by experiment -----------------------------------------------------


class Helpers:
    """The student's helpers as localisation calls them: fixed answers, calls recorded."""

    def __init__(self, qkv: Outcome | None = None, sdpa: Outcome | None = None) -> None:
        self.answers = {QKV: qkv, SDPA: sdpa}
        self.calls: list[tuple[str, list[Argument]]] = []

    def __call__(self, function: str, args: list[Argument], nbytes: int) -> Outcome:
        self.calls.append((function, args))
        answer = self.answers[function]
        return answer if answer is not None else Failed("budget", "no time left")


def right_helpers(c: Case) -> Helpers:
    """Helpers that are right on the case's inputs and on the per-head arrays."""
    steps = reference(c).steps()
    assert steps is not None
    return Helpers(returned(list(steps.qkv)), returned([steps.attended]))


def localised(c: Case, outcome: Outcome, helpers: Helpers) -> Verdict:
    """The grader's verdict on ``outcome``, localised with ``helpers``."""
    return localise(c, grader_judge(c, outcome), reference(c), helpers)


def test_heads_stacked_on_the_batch_axis_are_named_not_hard_coded_sizes() -> None:
    c = case("mha-values-2")  # B=2, 2 heads: right only when B or h is 1
    output = replay(MHA, c.args, Mistake(split="batch_stacked"))
    assert output is not None
    verdict = localised(c, returned(output), right_helpers(c))
    assert verdict.key == "heads_batch_stacked"
    assert verdict.diagnosis and "stacked on the batch axis" in verdict.diagnosis
    assert "hard-coded" not in verdict.diagnosis
    example = case("mha-values-1")  # B=1: the same code is right there
    stacked = replay(MHA, example.args, Mistake(split="batch_stacked"))
    assert stacked is not None and grader_judge(example, returned(stacked)).passed


def test_a_typeerror_in_the_students_own_helper_is_not_blamed_on_attention() -> None:
    c = case("mha-values-2")
    raised = Raised("TypeError", "unsupported operand", 31, function="split_heads")
    verdict = localised(c, raised, right_helpers(c))
    assert "`split_heads`" in verdict.problem and "line 31" in verdict.problem
    assert verdict.diagnosis == STEP_SPLIT_MERGE
    assert verdict.step is None


def test_reshape_then_transpose_is_named_although_attention_is_right() -> None:
    c = case("mha-values-2")
    output = replay(MHA, c.args, Mistake(split="reshape_transpose"))
    assert output is not None and output[0].shape == (2, 2, 20)
    verdict = localised(c, returned(output), right_helpers(c))
    assert verdict.key == "split_reshape_transpose" and verdict.step is None


def test_an_einsum_with_a_repeated_index_is_named() -> None:
    c = case("mha-values-2")
    output = replay(MHA, c.args, Mistake(diagonal=True))
    assert output is not None
    verdict = localised(c, returned(output), right_helpers(c))
    assert verdict.diagnosis and "diagonal" in verdict.diagnosis


def test_a_failure_no_known_mistake_explains_says_only_which_step_is_wrong() -> None:
    c = case("mha-values-2")
    wrong = returned([c.expected[0] + 0.25])
    assert localised(c, wrong, right_helpers(c)).diagnosis == STEP_SPLIT_MERGE
    steps = reference(c).steps()
    assert steps is not None
    sdpa_wrong = Helpers(returned(list(steps.qkv)), returned([steps.attended * 1.5]))
    found = localised(c, wrong, sdpa_wrong)
    assert found.diagnosis == STEP_SDPA and found.step is None
    qkv_wrong = Helpers(returned([a + 1.0 for a in steps.qkv]), None)
    assert localised(c, wrong, qkv_wrong).diagnosis == STEP_QKV


def test_attention_wrong_on_the_per_head_arrays_is_named_with_its_cause() -> None:
    c = case("mha-values-2")
    steps = reference(c).steps()
    assert steps is not None
    columns = replay(SDPA, [*steps.heads, steps.scale], Mistake(softmax="columns"))
    assert columns is not None
    helpers = Helpers(returned(list(steps.qkv)), returned(columns))
    verdict = localised(c, returned([c.expected[0] + 0.25]), helpers)
    assert verdict.key == "softmax_columns" and verdict.step == WHERE_SDPA


def test_a_helper_mistake_is_named_only_with_evidence() -> None:
    """The old guess: a multi-head failure blamed on the helper with the commonest
    diagnosis. Now a helper is named only when it is wrong on this case's evidence."""
    c = case("mha-values-2")
    k_uses_wq = replay(QKV, c.args[:4], Mistake(qkv_weights=(0, 0, 2)))
    assert k_uses_wq is not None
    wrong = returned([c.expected[0] + 0.25])
    named = localised(c, wrong, Helpers(returned(k_uses_wq), None))
    assert named.key == "k_uses_wq" and named.step == WHERE_QKV
    unnamed = localised(c, wrong, right_helpers(c))
    assert unnamed.key is None and unnamed.diagnosis == STEP_SPLIT_MERGE


def test_a_helper_that_raises_on_the_evidence_is_read() -> None:
    c = case("mha-values-2")
    steps = reference(c).steps()
    assert steps is not None
    raising = Raised("ValueError", "operands could not be broadcast together", 7)
    helpers = Helpers(returned(list(steps.qkv)), raising)
    verdict = localised(
        c, Raised("ValueError", "operands could not be broadcast", 7), helpers
    )
    assert verdict.diagnosis and "keepdims" in verdict.diagnosis
    assert verdict.step == WHERE_SDPA


def test_no_evidence_no_claim() -> None:
    """A helper that could not be called (time budget, a hang) supports no cause."""
    c = case("mha-values-2")
    wrong = grader_judge(c, returned([c.expected[0] + 0.25]))
    assert localise(c, wrong, reference(c), Helpers(None, None)) == wrong


def test_evidence_never_sends_expected_outputs_into_the_child() -> None:
    for c in [c for c in CASES if c.item == "mha.values"]:
        helpers = right_helpers(c)
        localised(c, returned([c.expected[0] + 0.25]), helpers)
        assert [f for f, _ in helpers.calls] == [QKV, SDPA]
        sent = [
            a for _, args in helpers.calls for a in args if isinstance(a, np.ndarray)
        ]
        for array in sent:
            for want in c.expected:
                assert not (array.shape == want.shape and np.allclose(array, want))
        qkv_args = helpers.calls[0][1]
        assert all(
            a is b for a, b in zip(qkv_args, c.args[:4])
        )  # the case's own inputs


def test_the_helper_is_named_when_it_alone_explains_a_shared_output() -> None:
    """scale * scale from multi-head or attention that scales twice: the same output;
    the evidence tells which (the attention, here, on the per-head arrays)."""
    c = case("mha-values-2")
    squared = replay(MHA, c.args, Mistake(scale="squared"))
    steps = reference(c).steps()
    assert squared is not None and steps is not None
    twice = replay(SDPA, [*steps.heads, steps.scale], Mistake(scale="twice"))
    assert twice is not None
    helpers = Helpers(returned(list(steps.qkv)), returned(twice))
    found = localised(c, returned(squared), helpers)
    assert found.key == "scale_twice" and found.step == WHERE_SDPA
    assert localised(c, returned(squared), right_helpers(c)).key == "scale_squared"


# --- the look across cases ------------------------------------------------------------


def test_right_in_three_dimensions_only_says_so() -> None:
    sdpa = [c for c in CASES if c.function == SDPA and c.check != "shapes"]
    rank = {c.id: c.args[0].ndim for c in sdpa if isinstance(c.args[0], np.ndarray)}
    verdicts = [
        Verdict(True) if rank[c.id] == 3 else Verdict(False, "wrong", returned=True)
        for c in sdpa
    ]
    reviewed = review(list(zip(sdpa, verdicts)))
    assert {v.diagnosis for v in reviewed if not v.passed} == {RANK_ONLY}


def test_a_softmax_over_a_fixed_axis_is_named_when_3d_passes_and_4d_fails() -> None:
    sdpa = [c for c in CASES if c.function == SDPA and c.check != "shapes"]
    verdicts = []
    for c in sdpa:
        assert isinstance(c.args[0], np.ndarray)
        if c.args[0].ndim == 3:
            verdicts.append(Verdict(True))
        else:
            columns = replay(SDPA, c.args, Mistake(softmax="columns"))
            assert columns is not None
            verdicts.append(grader_judge(c, returned(columns)))
    reviewed = review(list(zip(sdpa, verdicts)))
    assert {v.diagnosis for v in reviewed if not v.passed} == {SOFTMAX_FIXED_AXIS}


def test_an_output_two_mistakes_share_is_named_as_the_other_cases_show() -> None:
    shared = Verdict(
        False,
        "wrong",
        diagnosis="A",
        key="a",
        matched=(("a", "A"), ("b", "B")),
        returned=True,
    )
    others = [Verdict(False, "wrong", diagnosis="B", key="b", returned=True)] * 2
    sdpa = [c for c in CASES if c.function == SDPA][:3]
    reviewed = review(list(zip(sdpa, [shared, *others])))
    assert reviewed[0].diagnosis == "B"


# --- hidden cases, public cases --------------------------------------------------------

HIDDEN_FUNCTIONS = [
    next(c for c in CASES if c.visibility == "hidden" and c.item == item)
    for item in ("qkv.values", "sdpa.values", "sdpa.stability", "mha.values")
]


def numbers_of(c: Case) -> list[str]:
    """Shapes and sizes of a case's arrays, as they would be printed."""
    arrays = [a for a in (*c.args, *c.expected) if isinstance(a, np.ndarray)]
    found = [c.description]
    for a in arrays:
        found += [str(a.shape), str(a.size), ", ".join(map(str, a.shape))]
        found += [f"{float(x):.6g}" for x in a.ravel()[:20]]
    return found


@pytest.mark.parametrize(
    "hidden", HIDDEN_FUNCTIONS, ids=[c.id for c in HIDDEN_FUNCTIONS]
)
def test_hidden_case_messages_carry_no_shapes_sizes_counts_or_values(
    hidden: Case,
) -> None:
    want = hidden.expected[0]
    outcomes: list[Returned | Raised] = [
        returned([e + 0.5 for e in hidden.expected]),
        returned([np.full(want.shape, np.nan)] + list(hidden.expected[1:])),
        returned([want[..., :1]] + list(hidden.expected[1:])),
        returned([want[:1]] + list(hidden.expected[1:])),
        Raised("ValueError", f"secret {want.ravel()[0]!r} {want.shape}", 7),
    ]
    for outcome in outcomes:
        verdict = grader_judge(hidden, outcome)
        message = verdict.message
        assert message and not verdict.detail
        for text in numbers_of(hidden):
            assert text not in message, (text, message)
        assert "secret" not in message
        assert "in every value" not in message and "in some values" not in message


def test_public_messages_are_precise() -> None:
    c = case("mha-values-2")  # B=2, L=5, D=8, 2 heads
    wrong = np.array(c.expected[0])
    wrong[1, :, 4:] += 1.0  # batch element 1, head 1
    verdict = grader_judge(c, returned([wrong]))
    assert "largest error" in verdict.detail and "at index (1," in verdict.detail
    assert "only batch element(s) [1]" in verdict.detail
    assert "only head(s) [1] of 2" in verdict.detail
    shape_verdict = grader_judge(c, returned([wrong[:, :, :4]]))
    assert "shape (2, 5, 4), expected (2, 5, 8)" in shape_verdict.detail
    assert "D (model width)" in shape_verdict.problem


def test_hidden_wrong_shape_is_named_in_symbols() -> None:
    c = next(c for c in CASES if c.visibility == "hidden" and c.item == "sdpa.values")
    want = c.expected[0]
    verdict = grader_judge(
        c, returned([np.zeros(want.shape[:-1] + (want.shape[-1] + 1,))])
    )
    assert "dv (V's last axis)" in verdict.problem


def test_exception_text_is_shown_on_public_cases_only() -> None:
    raised = Raised("ValueError", "shapes (2,3) and (4,5)", 9)
    assert "shapes (2,3)" in describe_raised("`f`", raised)
    hidden = describe_raised("`f`", raised, show_message=False)
    assert "shapes" not in hidden and "ValueError" in hidden
    assert "line 9" not in hidden  # the raising line is the submission's to choose


def test_student_text_is_rendered_as_code_without_html_entities() -> None:
    raised = Raised("ValueError", "shape a -> b < c `tick`", 9)
    text = describe_raised("`f`", raised)
    assert "&gt;" not in text and "&lt;" not in text
    assert "`` shape a -> b < c `tick` ``" in text


def test_a_failed_call_keeps_its_own_message() -> None:
    verdict = grader_judge(
        case("mha-values-1"), Failed("timeout", "did not return within 2 s")
    )
    assert verdict.message == "did not return within 2 s" and verdict.diagnosis is None


def test_alternative_replays_of_one_misconception_differ() -> None:
    c = case("mha-values-2")
    for variant in VARIANTS:
        outputs = [replay(MHA, c.args, m) for m in variant.mistakes]
        for index, first in enumerate(outputs):
            for second in outputs[index + 1 :]:
                assert (
                    first is None
                    or second is None
                    or not (
                        first[0].shape == second[0].shape
                        and np.allclose(first[0], second[0])
                    )
                ), variant.key


def test_returning_output_and_weights_is_named() -> None:
    c = case("sdpa-values-1")
    weights = np.ones((2, 3, 5)) / 5
    verdict = grader_judge(
        c,
        Returned(
            "tuple",
            2,
            (Meta("float64", (2, 3, 6)), Meta("float64", (2, 3, 5))),
            (c.expected[0], weights),
            (),
        ),
    )
    assert verdict.diagnosis == RETURNS_PAIR


def test_modifying_an_argument_in_place_is_the_diagnosis() -> None:
    c = case("sdpa-values-1")
    verdict = grader_judge(c, returned(list(c.expected), modified=(0,)))
    assert not verdict.passed
    assert verdict.diagnosis and "in place" in verdict.diagnosis
    assert "`Q`" in verdict.problem


# --- bad head counts -------------------------------------------------------------------

BAD = [c for c in CASES if c.item == "mha.bad_heads"]


def test_only_a_valueerror_of_the_students_own_counts() -> None:
    divisibility = next(c for c in BAD if int(c.args[-1]) >= 1)
    own = Raised("ValueError", "num_heads must divide D", 4, raised_here=True)
    assert grader_judge(divisibility, own).passed
    numpy = Raised("ValueError", "cannot reshape array", 40, function="split")
    verdict = grader_judge(divisibility, numpy)
    assert not verdict.passed
    assert verdict.diagnosis == NO_OWN_DIVISIBILITY_CHECK
    assert "not from a check of your own" in verdict.problem


def test_the_missing_check_is_named() -> None:
    positive = [c for c in BAD if int(c.args[-1]) < 1]
    divisibility = [c for c in BAD if int(c.args[-1]) >= 1]
    assert positive and divisibility
    normal = returned([np.zeros((2, 3, 8))])
    assert {grader_judge(c, normal).diagnosis for c in positive} == {
        NO_OWN_POSITIVE_CHECK
    }
    assert {grader_judge(c, normal).diagnosis for c in divisibility} == {
        NO_OWN_DIVISIBILITY_CHECK
    }
    zero = Raised("ZeroDivisionError", "integer division or modulo by zero", 5)
    assert grader_judge(positive[0], zero).diagnosis == NO_OWN_POSITIVE_CHECK
    asserted = grader_judge(divisibility[0], Raised("AssertionError", "", 4))
    assert asserted.diagnosis == RAISE_NOT_ASSERT
    unimplemented = grader_judge(
        divisibility[0], Raised("NotImplementedError", "todo", 4)
    )
    assert (
        unimplemented.diagnosis is None and "not implemented" in unimplemented.problem
    )


# --- float32 ---------------------------------------------------------------------------


def float32_reference(c: Case) -> list[FloatArray]:
    """The reference solution run in float32 (inputs cast on entry)."""
    args = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in c.args]
    function = getattr(reference_solution, c.function)
    result = function(*args)
    return [np.asarray(r) for r in (result if isinstance(result, tuple) else [result])]


@pytest.mark.parametrize("c", VALUE_CASES[: len(VALUE_CASES) - 2], ids=lambda c: c.id)
def test_a_correct_float32_computation_passes_every_case(c: Case) -> None:
    got = float32_reference(c)
    assert all(g.dtype == np.float32 for g in got)
    assert grader_judge(c, returned(got)).passed


def test_float32_stability_needed_the_derived_allowance() -> None:
    """The issue's false alarm: rtol 1e-4 / atol 1e-6 alone fails float32 stability."""
    stability = [c for c in CASES if c.check == "stability"]
    failed_before = []
    for c in stability:
        got = float32_reference(c)[0]
        if not np.allclose(got, c.expected[0], rtol=1e-4, atol=1e-6):
            failed_before.append(c.id)
        assert grader_judge(c, returned([got])).passed, c.id
    assert failed_before


@pytest.mark.parametrize("key", ["scale_missing", "softmax_columns", "returns_weights"])
def test_wrong_float32_still_fails_and_is_named(key: str) -> None:
    variant = next(v for v in VARIANTS if v.key == key)
    for c in [c for c in VALUE_CASES if c.function == SDPA and c.expected]:
        output = replay(SDPA, c.args, variant.mistakes[0])
        if output is None or output[0].shape != c.expected[0].shape:
            continue
        if np.allclose(output[0], c.expected[0]):
            continue
        verdict = grader_judge(c, returned([output[0].astype(np.float32)]))
        assert not verdict.passed and verdict.key == key, c.id


def test_a_float32_sized_error_mentions_float32() -> None:
    c = case("sdpa-values-1")
    want = c.expected[0]
    magnitude = reference(c).magnitude
    allowed = allowance("float32", want, magnitude)
    near = (want + 3 * allowed).astype(np.float32)
    verdict = grader_judge(c, returned([near]))
    assert not verdict.passed and verdict.diagnosis == FLOAT32_SIZED_32
    assert "float32" in verdict.diagnosis and "float32" in verdict.detail
    as64 = grader_judge(c, returned([near.astype(np.float64)]))
    assert as64.diagnosis == FLOAT32_SIZED_64
    far = (want + 0.5).astype(np.float32)
    assert grader_judge(c, returned([far])).diagnosis is None


@pytest.mark.parametrize("dtype", ["float16", "int64", "bool"])
def test_float16_and_integer_results_fail_naming_the_dtype(dtype: str) -> None:
    c = case("sdpa-values-1")
    meta = Meta(dtype, tuple(c.expected[0].shape), withheld=True)
    verdict = grader_judge(c, Returned("single", 1, (meta,), (None,), ()))
    assert not verdict.passed and f"dtype {dtype}" in verdict.problem
    assert verdict.diagnosis is not None


def test_the_magnitude_bounds_float32_rounding_per_case() -> None:
    """The allowance grows with the case's scores: the stability cases get the most."""
    magnitudes = {c.id: reference(c).magnitude for c in CASES if c.raises is None}
    stability = min(m for i, m in magnitudes.items() if "stability" in i)
    values = max(m for i, m in magnitudes.items() if "sdpa-values" in i)
    assert stability > 100 * values
    c = case("mha-values-2")
    inputs, weights, heads = c.args[0], c.args[1:4], int(c.args[4])
    assert isinstance(inputs, np.ndarray)
    v = np.abs(inputs) @ np.abs(weights[2])
    q, k = (split_heads(np.abs(inputs) @ np.abs(w), heads) for w in weights[:2])
    scores = np.abs(q) @ np.swapaxes(np.abs(k), -1, -2) / math.sqrt(q.shape[-1])
    assert magnitudes[c.id] == pytest.approx(float(v.max()) * (1 + float(scores.max())))
