"""Diagnosis and the fallback messages, in-process: replayed variants, exception patterns,
the look across cases, and what a hidden case's message may (not) say."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from autograder.casebook import Case, load_cases
from autograder.channel import ArrayMeta, FloatArray
from autograder.compare import (
    NO_VALUE_ERROR,
    RAISE_NOT_ASSERT,
    judge,
)
from autograder.diagnose import (
    EXAMPLE_ONLY,
    MHA,
    MHA_RESHAPE,
    QKV,
    RANK_ONLY,
    SDPA,
    VARIANTS,
    Mistake,
    Variant,
    _replay,
    diagnose_raised,
    explain,
    review,
)
from autograder.plugin import CaseResult
from autograder.remote import Failed, Raised, Returned, describe_raised

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
        replace(sdpa, expected=tuple(_replay(sdpa, Mistake()) or [])),
        replace(mha, expected=tuple(_replay(mha, Mistake()) or [])),
    ]


VALUE_CASES = [
    c for c in CASES + square_cases() if c.check != "shapes" and not c.raises
]


def returned(values: list[FloatArray], modified: tuple[int, ...] = ()) -> Returned:
    """What the child would send back for ``values``."""
    container = "single" if len(values) == 1 else "tuple"
    metas = tuple(ArrayMeta(str(v.dtype), v.shape) for v in values)
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
        replay = _replay(c, variant.mistakes[0])
        if replay is None or all(
            a.shape == b.shape and np.allclose(a, b) for a, b in zip(replay, c.expected)
        ):
            continue
        found = explain(c, replay, [a.shape for a in replay])
        if found is not None and found.key == variant.key:
            hits.append(c.id)
    return hits


def test_catalogue_of_variants_covers_at_least_twenty_misconceptions() -> None:
    assert len(VARIANTS) >= 20
    assert len({v.key for v in VARIANTS}) == len(VARIANTS)
    assert {QKV, SDPA, MHA} <= set().union(*(v.functions for v in VARIANTS))


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.key for v in VARIANTS])
def test_each_variant_is_recognised_from_its_own_output(variant: Variant) -> None:
    assert explained_by(variant, VALUE_CASES), f"{variant.key} is never diagnosed"


def test_wrong_values_that_no_mistake_explains_get_no_diagnosis() -> None:
    for c in VALUE_CASES:
        noisy = [e + 0.5 for e in c.expected]
        assert explain(c, noisy, [a.shape for a in noisy]) is None, c.id


def test_two_mistakes_at_once_are_both_named() -> None:
    c = case("sdpa-values-1")
    both = _replay(c, Mistake(scale="none", softmax="columns"))
    assert both is not None
    found = explain(c, both, [a.shape for a in both])
    assert found is not None
    assert "without the scale" in found.explanation
    assert "wrong axis" in found.explanation


def test_nan_from_a_softmax_without_max_subtraction_is_named() -> None:
    c = case("sdpa-stability-1")
    naive = _replay(c, Mistake(softmax="unstable"))
    assert naive is not None and not np.isfinite(naive[0]).all()
    verdict = judge(c, returned(naive))
    assert not verdict.passed
    assert "contains NaN or inf" in verdict.message
    assert verdict.diagnosis and "max-subtraction" in verdict.diagnosis


@pytest.mark.parametrize(
    ("function", "message", "phrase"),
    [
        (
            QKV,
            "matmul: Input operand 1 has a mismatch in its core dimension 0",
            "not weights_q @ inputs",
        ),
        (
            SDPA,
            "matmul: Input operand 1 has a mismatch in its core dimension 0",
            "`K.T`",
        ),
        (SDPA, "axes don't match array", "fixed axes"),
        (SDPA, "too many values to unpack (expected 3)", "unpacked"),
        (
            SDPA,
            "operands could not be broadcast together with shapes (2,3,5) (2,3)",
            "keepdims",
        ),
        (MHA, "axes don't match array", "fixed axes"),
        (
            MHA,
            "cannot reshape array of size 80 into shape (1,5,4,8)",
            "reshape does not fit",
        ),
    ],
)
def test_numpy_errors_point_at_the_classic_mistake(
    function: str, message: str, phrase: str
) -> None:
    c = next(c for c in CASES if c.function == function and not c.raises)
    cause = diagnose_raised(c, Raised("ValueError", message, 12))
    assert cause is not None and phrase in cause


def test_an_unknown_error_gets_no_diagnosis() -> None:
    c = case("sdpa-values-1")
    assert diagnose_raised(c, Raised("ValueError", "my own message", 3)) is None
    assert diagnose_raised(c, Raised("KeyError", "axes don't match array", 3)) is None


def result(
    c: Case, passed: bool, diagnosis: str | None = None, ran: bool = True
) -> CaseResult:
    """A per-case result as the plugin records it."""
    message = "" if passed else ("it returned" if ran else "did not return within 2 s")
    return CaseResult(c.id, c.item, c.visibility, passed, message, diagnosis, ran)


def test_right_on_the_example_only_names_hard_coded_sizes() -> None:
    mha = [c for c in CASES if c.item in ("mha.values", "mha.shapes")]
    example = next(c for c in mha if "assignment example" in c.description)
    results = [
        result(c, c is example, None if c.id != "mha-shapes-1" else MHA_RESHAPE)
        for c in mha
    ]
    reviewed = review(CASES, results)
    failed = [r for r in reviewed if not r.passed]
    assert failed and all(r.diagnosis == EXAMPLE_ONLY for r in failed)
    assert all(EXAMPLE_ONLY in r.message for r in failed)


def test_a_timeout_is_not_blamed_on_hard_coded_sizes() -> None:
    mha = [c for c in CASES if c.item == "mha.values"]
    results = [result(c, "assignment example" in c.description, ran=False) for c in mha]
    assert all(r.diagnosis is None for r in review(CASES, results))


def test_a_helper_mistake_explains_multi_head_failures() -> None:
    qkv = case("qkv-values-1")
    mha = case("mha-values-2")
    cause = "K was computed with weights_q instead of weights_k"
    reviewed = review(
        CASES, [result(qkv, False, cause), result(mha, False, MHA_RESHAPE)]
    )
    assert reviewed[1].diagnosis is not None
    assert "create_qkv" in reviewed[1].diagnosis and cause in reviewed[1].diagnosis
    assert reviewed[1].message.count("Likely cause") == 1


def test_right_in_three_dimensions_only_says_so() -> None:
    sdpa = [c for c in CASES if c.item.startswith("sdpa.")]
    rank = {c.id: c.args[0].ndim for c in sdpa if isinstance(c.args[0], np.ndarray)}
    results = [result(c, rank[c.id] == 3) for c in sdpa]
    reviewed = review(CASES, results)
    assert {r.diagnosis for r in reviewed if not r.passed} == {RANK_ONLY}


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
def test_hidden_case_messages_carry_no_shapes_sizes_or_values(hidden: Case) -> None:
    want = hidden.expected[0]
    outcomes: list[Returned | Raised] = [
        returned([e + 0.5 for e in hidden.expected]),
        returned([np.full(want.shape, np.nan)] + list(hidden.expected[1:])),
        returned([want[..., :1]] + list(hidden.expected[1:])),
        returned([want[:1]] + list(hidden.expected[1:])),
        Raised("ValueError", f"secret {want.ravel()[0]!r} {want.shape}", 7),
    ]
    for outcome in outcomes:
        message = judge(hidden, outcome).message
        assert message
        for text in numbers_of(hidden):
            assert text not in message, (text, message)
        assert "secret" not in message


def test_public_messages_are_precise() -> None:
    c = case("mha-values-2")  # B=2, L=5, D=8, 2 heads
    wrong = np.array(c.expected[0])
    wrong[1, :, 4:] += 1.0  # batch element 1, head 1
    message = judge(c, returned([wrong])).message
    assert c.description in message
    assert "largest error" in message and "at index (1," in message
    assert "only batch element(s) [1]" in message
    assert "only head(s) [1] of 2" in message
    shape_message = judge(c, returned([wrong[:, :, :4]])).message
    assert "shape (2, 5, 4), expected (2, 5, 8)" in shape_message
    assert "D (model width)" in shape_message


def test_hidden_wrong_shape_is_named_in_symbols() -> None:
    c = next(c for c in CASES if c.visibility == "hidden" and c.item == "sdpa.values")
    want = c.expected[0]
    message = judge(
        c, returned([np.zeros(want.shape[:-1] + (want.shape[-1] + 1,))])
    ).message
    assert "dv (V's last axis)" in message


def test_bad_head_counts_name_what_to_do() -> None:
    c = next(c for c in CASES if c.item == "mha.bad_heads")
    normal = judge(c, returned([np.zeros((2, 3, 8))]))
    assert normal.diagnosis == NO_VALUE_ERROR
    asserted = judge(c, Raised("AssertionError", "", 4))
    assert asserted.diagnosis == RAISE_NOT_ASSERT
    unimplemented = judge(c, Raised("NotImplementedError", "todo", 4))
    assert (
        unimplemented.diagnosis is None and "not implemented" in unimplemented.message
    )
    assert judge(c, Raised("ValueError", "bad", 4)).passed


def test_modifying_an_argument_in_place_is_the_diagnosis() -> None:
    c = case("sdpa-values-1")
    verdict = judge(c, returned(list(c.expected), modified=(0,)))
    assert not verdict.passed
    assert (
        verdict.diagnosis
        and "in place" in verdict.diagnosis
        and "`Q`" in verdict.message
    )


def test_exception_text_is_shown_on_public_cases_only() -> None:
    raised = Raised("ValueError", "shapes (2,3) and (4,5)", 9)
    assert "shapes (2,3)" in describe_raised("`f`", raised)
    hidden = describe_raised("`f`", raised, show_message=False)
    assert "shapes" not in hidden and "ValueError" in hidden
    assert "line 9" not in hidden  # the raising line is the submission's to choose


def test_a_failed_call_keeps_its_own_message() -> None:
    verdict = judge(
        case("mha-values-1"), Failed("timeout", "did not return within 2 s")
    )
    assert verdict.message == "did not return within 2 s" and verdict.diagnosis is None


def test_alternative_replays_of_one_misconception_differ() -> None:
    c = case("mha-values-2")
    for variant in VARIANTS:
        outputs = [_replay(c, m) for m in variant.mistakes]
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
