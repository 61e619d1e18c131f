"""The reference solution and its fixtures: do they compute and cover what SPEC says?

The reference is checked against loops written from the formula, against properties of
attention, and against SPEC's edge rules; the committed fixtures against the generator,
their manifest, the rubric items and the reference itself.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from solution.fixtures import build
from solution.fixtures import main as generate_fixtures
from solution.mhsa import (
    create_qkv,
    multi_head_attention,
    scaled_dot_product_attention,
)

Array = npt.NDArray[np.floating]
FIXTURES = Path(__file__).resolve().parent.parent / "autograder" / "fixtures"
SETS = ("public", "hidden")
ITEMS = (
    "qkv.values",
    "qkv.shapes",
    "sdpa.values",
    "sdpa.stability",
    "sdpa.shapes",
    "mha.values",
    "mha.shapes",
    "mha.bad_heads",
)
# Regenerated expected values may differ from the committed ones in the last bits on
# another CPU or BLAS; on the machine that wrote them they are byte-identical.
REGENERATION_RTOL = 1e-12


def rng_for(*key: int) -> np.random.Generator:
    """A generator per test parameter set, so each test's data is fixed."""
    return np.random.default_rng(list(key))


def loop_attention_rows(q: Array, k: Array, v: Array, scale: float) -> Array:
    """softmax(q k^T * scale) v for one 2-D (L, d) slice, query by query in plain Python."""
    out = np.zeros((q.shape[0], v.shape[1]))
    for i in range(q.shape[0]):
        scores = [scale * float(q[i] @ k[j]) for j in range(k.shape[0])]
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        for j, w in enumerate(weights):
            out[i] += (w / total) * v[j]
    return out


def loop_sdpa(Q: Array, K: Array, V: Array, scale: float) -> Array:
    """Attention over every leading batch index, one 2-D slice at a time."""
    out = np.zeros((*Q.shape[:-1], V.shape[-1]))
    for index in np.ndindex(*Q.shape[:-2]):
        out[index] = loop_attention_rows(Q[index], K[index], V[index], scale)
    return out


def loop_mha(inputs: Array, wq: Array, wk: Array, wv: Array, num_heads: int) -> Array:
    """SPEC's multi-head attention with explicit loops over batch and heads."""
    B, L, D = inputs.shape
    hd = D // num_heads
    out = np.zeros((B, L, D))
    for b in range(B):
        for h in range(num_heads):
            cols = slice(h * hd, (h + 1) * hd)
            q = inputs[b] @ wq[:, cols]
            k = inputs[b] @ wk[:, cols]
            v = inputs[b] @ wv[:, cols]
            out[b, :, cols] = loop_attention_rows(q, k, v, 1.0 / math.sqrt(hd))
    return out


def mha_operands(
    seed: int, B: int, L: int, D: int
) -> tuple[Array, Array, Array, Array]:
    """Normal inputs (B, L, D) and three Xavier-scaled (D, D) weights."""
    rng = rng_for(seed, B, L, D)
    inputs = rng.standard_normal((B, L, D))
    wq, wk, wv = rng.standard_normal((3, D, D)) / math.sqrt(D)
    return inputs, wq, wk, wv


@pytest.mark.parametrize(
    ("B", "L", "D", "num_heads"),
    [(2, 5, 8, 2), (3, 4, 6, 3), (1, 3, 4, 1), (2, 3, 4, 4), (2, 6, 12, 6)],
)
def test_mha_matches_loops_over_batch_heads_and_positions(
    B: int, L: int, D: int, num_heads: int
) -> None:
    inputs, wq, wk, wv = mha_operands(1, B, L, D)
    got = multi_head_attention(inputs, wq, wk, wv, num_heads)
    np.testing.assert_allclose(got, loop_mha(inputs, wq, wk, wv, num_heads), rtol=1e-12)


def test_create_qkv_uses_row_vectors() -> None:
    inputs, wq, wk, wv = mha_operands(2, 2, 3, 4)
    Q, K, V = create_qkv(inputs, wq, wk, wv)
    for got, weight in ((Q, wq), (K, wk), (V, wv)):
        expected = np.einsum("bld,de->ble", inputs, weight)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("batch", "Lq", "Lk", "dk", "dv", "scale"),
    [((2,), 3, 5, 4, 6, 0.7), ((2, 3), 4, 2, 5, 3, 1.9), ((), 4, 6, 3, 2, 0.2)],
)
def test_sdpa_matches_loops_for_any_leading_batch_axes(
    batch: tuple[int, ...], Lq: int, Lk: int, dk: int, dv: int, scale: float
) -> None:
    rng = rng_for(3, Lq, Lk, dk, dv)
    Q = rng.standard_normal((*batch, Lq, dk))
    K = rng.standard_normal((*batch, Lk, dk))
    V = rng.standard_normal((*batch, Lk, dv))
    got = scaled_dot_product_attention(Q, K, V, scale)
    assert got.shape == (*batch, Lq, dv)
    np.testing.assert_allclose(got, loop_sdpa(Q, K, V, scale), rtol=1e-12)


def attention_weights(Q: Array, K: Array, scale: float) -> Array:
    """The softmax weights themselves: attend over V = identity, one row per key."""
    return scaled_dot_product_attention(Q, K, np.eye(K.shape[-2]), scale)


def test_attention_weight_rows_are_distributions() -> None:
    rng = rng_for(4)
    Q, K = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 7, 5))
    weights = attention_weights(Q, K, 0.8)
    assert weights.shape == (2, 3, 4, 7)
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


def test_shifting_every_key_by_one_vector_changes_nothing() -> None:
    """Adding w to every key adds the constant q_i . w to row i's scores: softmax ignores it."""
    rng = rng_for(5)
    Q, K, V = (rng.standard_normal(s) for s in ((2, 4, 3), (2, 6, 3), (2, 6, 5)))
    w = 3.0 * rng.standard_normal((2, 1, 3))
    np.testing.assert_allclose(
        scaled_dot_product_attention(Q, K + w, V, 0.6),
        scaled_dot_product_attention(Q, K, V, 0.6),
        rtol=1e-10,
        atol=1e-12,
    )


def test_scale_multiplies_the_scores() -> None:
    """Doubling Q with scale s equals scale 2s: the scale is a factor on the scores."""
    rng = rng_for(6)
    Q, K, V = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2)))
    np.testing.assert_allclose(
        scaled_dot_product_attention(2.0 * Q, K, V, 0.3),
        scaled_dot_product_attention(Q, K, V, 0.6),
        rtol=1e-12,
    )


def test_one_head_is_plain_attention_scaled_by_one_over_sqrt_D() -> None:
    inputs, wq, wk, wv = mha_operands(7, 3, 5, 6)
    Q, K, V = create_qkv(inputs, wq, wk, wv)
    np.testing.assert_allclose(
        multi_head_attention(inputs, wq, wk, wv, 1),
        scaled_dot_product_attention(Q, K, V, 1.0 / math.sqrt(6)),
        rtol=1e-12,
    )


def test_D_heads_attend_column_by_column_with_scale_one() -> None:
    inputs, wq, wk, wv = mha_operands(8, 2, 4, 5)
    Q, K, V = create_qkv(inputs, wq, wk, wv)
    columns = [
        scaled_dot_product_attention(
            Q[..., c : c + 1], K[..., c : c + 1], V[..., c : c + 1], 1.0
        )
        for c in range(5)
    ]
    np.testing.assert_allclose(
        multi_head_attention(inputs, wq, wk, wv, 5),
        np.concatenate(columns, axis=-1),
        rtol=1e-12,
    )


def test_float32_inputs_give_float32_outputs() -> None:
    inputs, wq, wk, wv = (a.astype(np.float32) for a in mha_operands(9, 2, 3, 4))
    assert all(a.dtype == np.float32 for a in create_qkv(inputs, wq, wk, wv))
    assert scaled_dot_product_attention(inputs, inputs, inputs, 0.5).dtype == np.float32
    assert scaled_dot_product_attention(
        inputs, inputs, inputs, np.float64(0.5)
    ).dtype == (np.float32)
    out = multi_head_attention(inputs, wq, wk, wv, 2)
    assert out.dtype == np.float32
    wide = [a.astype(np.float64) for a in (inputs, wq, wk, wv)]
    expected = loop_mha(wide[0], wide[1], wide[2], wide[3], 2)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6)


def test_arguments_are_never_modified() -> None:
    """Read-only arguments would make any in-place write raise; copies prove no change."""
    inputs, wq, wk, wv = mha_operands(10, 2, 4, 6)
    originals = [a.copy() for a in (inputs, wq, wk, wv)]
    for a in (inputs, wq, wk, wv):
        a.setflags(write=False)
    create_qkv(inputs, wq, wk, wv)
    scaled_dot_product_attention(inputs, wq[None], wk[None], 0.5)
    multi_head_attention(inputs, wq, wk, wv, 3)
    for now, then in zip((inputs, wq, wk, wv), originals):
        np.testing.assert_array_equal(now, then)


@pytest.mark.parametrize("num_heads", [0, -1, -2, 3, 5, 16])
def test_bad_head_counts_raise_value_error(num_heads: int) -> None:
    inputs, wq, wk, wv = mha_operands(11, 2, 3, 8)
    with pytest.raises(ValueError, match="num_heads"):
        multi_head_attention(inputs, wq, wk, wv, num_heads)


def test_scores_in_the_thousands_stay_finite_and_right() -> None:
    rng = rng_for(12)
    Q = 40.0 * rng.standard_normal((2, 3, 4))
    K = 40.0 * rng.standard_normal((2, 5, 4))
    V = rng.standard_normal((2, 5, 3))
    assert np.abs(Q @ K.swapaxes(-1, -2)).max() > 1000
    got = scaled_dot_product_attention(Q, K, V, 1.0)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, loop_sdpa(Q, K, V, 1.0), rtol=1e-10, atol=1e-12)


# --- fixtures ---------------------------------------------------------------------------


def load_set(name: str, folder: Path = FIXTURES) -> dict[str, Any]:
    """One fixture file, parsed."""
    data: dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
    return data


def decode(argument: dict[str, Any]) -> Any:
    """A fixture argument as an array, float or int."""
    if "array" in argument:
        raw = argument["array"]
        return np.array(raw["data"], dtype=raw["dtype"]).reshape(raw["shape"])
    return argument["int"] if "int" in argument else argument["float"]


def all_cases() -> list[tuple[str, dict[str, Any]]]:
    """(set name, case) for every committed case."""
    return [(s, c) for s in SETS for c in load_set(s)["cases"]]


def cases_of(item: str) -> list[dict[str, Any]]:
    """Every committed case of one rubric item, public and hidden."""
    return [c for _, c in all_cases() if c["item"] == item]


REFERENCE: dict[str, Callable[..., Any]] = {
    "create_qkv": create_qkv,
    "scaled_dot_product_attention": scaled_dot_product_attention,
    "multi_head_attention": multi_head_attention,
}


def test_generation_is_byte_identical_run_to_run(tmp_path: Path) -> None:
    for run in ("a", "b"):
        assert generate_fixtures(["--seed", "2026", "--out", str(tmp_path / run)]) == 0
    for name in ("public.json", "hidden.json", "MANIFEST.sha256"):
        assert (tmp_path / "a" / name).read_bytes() == (
            tmp_path / "b" / name
        ).read_bytes()


def assert_same_document(new: Any, old: Any, where: str) -> None:
    """Equal structure and text; floats equal up to last-bit platform differences."""
    if isinstance(old, float):
        assert isinstance(new, float), where
        assert math.isclose(new, old, rel_tol=REGENERATION_RTOL, abs_tol=1e-15), where
    elif isinstance(old, dict):
        assert isinstance(new, dict) and new.keys() == old.keys(), where
        for key in old:
            assert_same_document(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), where
        for index, (a, b) in enumerate(zip(new, old)):
            assert_same_document(a, b, f"{where}[{index}]")
    else:
        assert new == old and type(new) is type(old), where


def test_regenerating_seed_2026_reproduces_the_committed_fixtures(
    tmp_path: Path,
) -> None:
    assert generate_fixtures(["--seed", "2026", "--out", str(tmp_path)]) == 0
    for name in SETS:
        assert_same_document(load_set(name, tmp_path), load_set(name), name)


def test_another_seed_gives_other_data_with_the_same_cases() -> None:
    this, other = build(2026), build(2027)
    for name in ("public.json", "hidden.json"):
        assert this[name] != other[name]
        a, b = json.loads(this[name])["cases"], json.loads(other[name])["cases"]
        assert [c["id"] for c in a] == [c["id"] for c in b]
        assert a[0]["args"] != b[0]["args"]


def test_committed_manifest_matches_the_files() -> None:
    lines = (FIXTURES / "MANIFEST.sha256").read_text().splitlines()
    listed = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert sorted(listed) == ["hidden.json", "public.json"]
    for name, digest in listed.items():
        assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == digest


def test_fixture_files_are_small_and_well_formed() -> None:
    for name in SETS:
        assert (FIXTURES / f"{name}.json").stat().st_size < 1 << 20
        data = load_set(name)
        assert (data["format"], data["set"]) == (1, name)
        for case in data["cases"]:
            assert case["function"] in REFERENCE
            assert case["description"]
            assert ("arrays" in case["expected"]) != ("raises" in case["expected"])


@pytest.mark.parametrize("item", ITEMS)
def test_every_rubric_item_has_public_and_hidden_cases(item: str) -> None:
    for name in SETS:
        assert any(c["item"] == item for c in load_set(name)["cases"]), (item, name)


def test_case_ids_are_unique_across_both_sets() -> None:
    ids = [c["id"] for _, c in all_cases()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("set_name", "case"), all_cases(), ids=[c["id"] for _, c in all_cases()]
)
def test_expected_values_are_the_reference_output(
    set_name: str, case: dict[str, Any]
) -> None:
    args = [decode(a) for a in case["args"]]
    function = REFERENCE[case["function"]]
    if "raises" in case["expected"]:
        with pytest.raises(ValueError):
            function(*args)
        return
    got = function(*args)
    results = list(got) if isinstance(got, tuple) else [got]
    wanted = [decode({"array": a}) for a in case["expected"]["arrays"]]
    assert len(results) == len(wanted)
    for result, want in zip(results, wanted):
        assert result.shape == want.shape and result.dtype == want.dtype == np.float64
        np.testing.assert_allclose(result, want, rtol=REGENERATION_RTOL, atol=1e-15)


def sdpa_case_arrays(case: dict[str, Any]) -> tuple[Array, Array, Array, float]:
    """Q, K, V and scale of a scaled_dot_product_attention case."""
    Q, K, V, scale = (decode(a) for a in case["args"])
    return Q, K, V, float(scale)


def test_sdpa_values_cases_cover_spec() -> None:
    """4-D batches, Lq != Lk with dv != dk, and scales other than 1 and 1/sqrt(dk)."""
    shapes = [sdpa_case_arrays(c) for c in cases_of("sdpa.values")]
    assert any(Q.ndim == 4 for Q, _, _, _ in shapes)
    assert any(
        Q.shape[-2] != K.shape[-2] and V.shape[-1] != K.shape[-1]
        for Q, K, V, _ in shapes
    )
    assert all(s != 1.0 for _, _, _, s in shapes)
    assert any(not math.isclose(s, 1 / math.sqrt(Q.shape[-1])) for Q, _, _, s in shapes)


def test_sdpa_shapes_cases_cover_3d_and_4d_batches() -> None:
    shapes = [sdpa_case_arrays(c) for c in cases_of("sdpa.shapes")]
    assert {Q.ndim for Q, _, _, _ in shapes} == {3, 4}
    assert all(
        Q.shape[-2] != K.shape[-2] and V.shape[-1] != K.shape[-1]
        for Q, K, V, _ in shapes
    )


def test_stability_cases_break_a_naive_softmax() -> None:
    for case in cases_of("sdpa.stability"):
        Q, K, V, scale = sdpa_case_arrays(case)
        scores = Q @ K.swapaxes(-1, -2) * scale
        assert np.abs(scores).min() >= 900 and np.abs(scores).max() <= 6000
        with np.errstate(all="ignore"):
            e = np.exp(scores)
            naive = (e / e.sum(axis=-1, keepdims=True)) @ V
        assert not np.isfinite(naive).all()
        assert np.isfinite(decode({"array": case["expected"]["arrays"][0]})).all()


def mha_cases(item: str) -> list[tuple[Array, int]]:
    """(inputs, num_heads) of every multi_head_attention case of one item."""
    return [(decode(c["args"][0]), int(c["args"][4]["int"])) for c in cases_of(item)]


def test_mha_cases_cover_head_counts_batches_and_the_assignment_example() -> None:
    values = mha_cases("mha.values")
    assert any(h == 1 for _, h in values) and any(h == x.shape[2] for x, h in values)
    assert any(1 < h < x.shape[2] for x, h in values)
    assert any(x.shape[0] > 1 and x.shape[1] != x.shape[2] for x, _ in values)
    assert any(
        x.shape == (1, 5, 32) and h == 4 and (x >= 0).all() and (x < 1).all()
        for x, h in values
    )
    shapes = mha_cases("mha.shapes")
    assert all(x.shape[0] > 1 and x.shape[1] != x.shape[2] for x, _ in shapes)
    assert len({h for _, h in shapes}) > 1
    bad = mha_cases("mha.bad_heads")
    assert any(h < 1 for _, h in bad) and any(h >= 1 and x.shape[2] % h for x, h in bad)


def test_qkv_shapes_cases_vary_batch_and_length() -> None:
    shapes = [decode(c["args"][0]).shape for c in cases_of("qkv.shapes")]
    assert any(B == 1 for B, _, _ in shapes) and any(B > 1 for B, _, _ in shapes)
    assert all(L != D for _, L, D in shapes)


def softmax(x: Array, axis: int) -> Array:
    """A stable softmax along any axis, for the mistaken variants below."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    out: Array = e / e.sum(axis=axis, keepdims=True)
    return out


def far_from(got: Array, want: Array) -> bool:
    """Clearly wrong under the grader's tolerance, not a rounding near-miss."""
    return bool(np.abs(got - want).max() > 1e-3)


def test_sdpa_values_cases_catch_a_missing_scale_and_a_wrong_axis() -> None:
    for case in cases_of("sdpa.values") + cases_of("sdpa.stability"):
        Q, K, V, scale = sdpa_case_arrays(case)
        want = decode({"array": case["expected"]["arrays"][0]})
        scores = Q @ K.swapaxes(-1, -2)
        assert far_from(softmax(scores, -1) @ V, want), case["id"]
        assert far_from(softmax(scores * scale, -2) @ V, want), case["id"]


def test_mha_values_cases_with_several_heads_catch_a_missing_transpose() -> None:
    for case in cases_of("mha.values"):
        inputs, wq, wk, wv = (decode(a) for a in case["args"][:4])
        h = int(case["args"][4]["int"])
        if h == 1:
            continue
        B, L, D = inputs.shape
        q, k, v = ((inputs @ w).reshape(B, h, L, D // h) for w in (wq, wk, wv))
        mixed = scaled_dot_product_attention(q, k, v, 1 / math.sqrt(D // h)).reshape(
            B, L, D
        )
        want = decode({"array": case["expected"]["arrays"][0]})
        assert far_from(mixed, want), case["id"]
