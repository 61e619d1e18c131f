"""Fixture generator: the public and hidden graded cases, computed by the reference solution.

Run ``python -m solution.fixtures --seed N --out autograder/fixtures`` (``make fixtures``) once
per term with a new seed. The same seed always gives the same files, byte for byte, on one
machine. It writes ``public.json`` (shipped in the handout), ``hidden.json`` (never leaves the
grader) and ``MANIFEST.sha256``, which ``sha256sum -c MANIFEST.sha256`` checks in that folder.

A case names the rubric item it scores, the function it calls, its arguments (arrays as dtype,
shape and flat C-order data; scalars as ``{"float": x}`` or ``{"int": n}``) and either the
expected arrays or the exception expected (``{"raises": "ValueError"}``). Descriptions give
shapes and scalars only, never data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from solution.mhsa import (
    create_qkv,
    multi_head_attention,
    scaled_dot_product_attention,
)

FORMAT = 1
DEFAULT_SEED = 2026
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "autograder" / "fixtures"
SETS = ("public", "hidden")
MANIFEST = "MANIFEST.sha256"

Array = npt.NDArray[np.float64]
Json = dict[str, Any]


def array_json(a: npt.NDArray[np.floating]) -> Json:
    """Encode an array as dtype, shape and flat C-order data (json writes floats by repr)."""
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.ravel().tolist()}


def shape_text(shape: Sequence[int]) -> str:
    """Write a shape the way NumPy prints it: ``(2, 3, 4)``."""
    return "(" + ", ".join(str(n) for n in shape) + ")"


def case(
    item: str, function: str, description: str, args: list[Json], expected: Json
) -> Json:
    """Assemble one case; its id is given later, when the set is numbered."""
    return {
        "item": item,
        "function": function,
        "description": description,
        "args": args,
        "expected": expected,
    }


def xavier(rng: np.random.Generator, D: int) -> Array:
    """A (D, D) weight with std 1/sqrt(D), so scores stay O(1) and softmax rows stay mixed."""
    return rng.standard_normal((D, D)) / math.sqrt(D)


def qkv_case(rng: np.random.Generator, item: str, B: int, L: int, D: int) -> Json:
    """create_qkv on standard normal inputs and three distinct standard normal weights."""
    inputs = rng.standard_normal((B, L, D))
    weights = [rng.standard_normal((D, D)) for _ in range(3)]
    expected = create_qkv(inputs, *weights)
    return case(
        item,
        "create_qkv",
        f"B={B}, L={L}, D={D}",
        [{"array": array_json(a)} for a in (inputs, *weights)],
        {"arrays": [array_json(a) for a in expected]},
    )


def sdpa_json(item: str, Q: Array, K: Array, V: Array, scale: float, note: str) -> Json:
    """A scaled_dot_product_attention case for the given operands."""
    description = (
        f"Q {shape_text(Q.shape)}, K {shape_text(K.shape)}, "
        f"V {shape_text(V.shape)}, scale {scale:.6g}{note}"
    )
    return case(
        item,
        "scaled_dot_product_attention",
        description,
        [{"array": array_json(Q)}, {"array": array_json(K)}, {"array": array_json(V)}]
        + [{"float": scale}],
        {"arrays": [array_json(scaled_dot_product_attention(Q, K, V, scale))]},
    )


def sdpa_case(
    rng: np.random.Generator,
    item: str,
    batch: tuple[int, ...],
    Lq: int,
    Lk: int,
    dk: int,
    dv: int,
    scale: float,
) -> Json:
    """scaled_dot_product_attention on standard normal Q, K, V."""
    Q = rng.standard_normal((*batch, Lq, dk))
    K = rng.standard_normal((*batch, Lk, dk))
    V = rng.standard_normal((*batch, Lk, dv))
    return sdpa_json(item, Q, K, V, scale, "")


def naive_attention(Q: Array, K: Array, V: Array, scale: float) -> Array:
    """Attention with the unstabilised softmax that a stability case must break."""
    with np.errstate(all="ignore"):
        e = np.exp(Q @ np.swapaxes(K, -1, -2) * scale)
        out: Array = (e / e.sum(axis=-1, keepdims=True)) @ V
    return out


def stability_case(
    rng: np.random.Generator,
    batch: tuple[int, ...],
    Lq: int,
    Lk: int,
    dk: int,
    dv: int,
    scale: float,
) -> Json:
    """Scores of magnitude 1000-5000 whose softmax rows are still mixtures, not one-hot.

    Every key is a common direction u (length 10) plus a small perturbation, and query i is
    ``t_i / (10 * scale)`` along u plus noise, so its scores are about t_i (|t_i| in
    [1000, 5000], either sign: exp overflows or underflows to 0/0) and differ between keys by
    a few units. A naive softmax gives NaN; a wrong scale or axis gives clearly wrong values.
    """
    u = rng.standard_normal((*batch, 1, dk))
    u /= np.linalg.norm(u, axis=-1, keepdims=True)  # (..., 1, dk), unit length
    t = rng.uniform(1000.0, 5000.0, (*batch, Lq, 1)) * rng.choice(
        [-1.0, 1.0], (*batch, Lq, 1)
    )
    Q = t / (10.0 * scale) * u + rng.standard_normal((*batch, Lq, dk))
    K = 10.0 * u + 0.01 * rng.standard_normal((*batch, Lk, dk))
    V = rng.standard_normal((*batch, Lk, dv))
    scores = Q @ np.swapaxes(K, -1, -2) * scale
    assert np.abs(scores).min() > 900.0, "stability case: scores not in the thousands"
    assert not np.isfinite(
        naive_attention(Q, K, V, scale)
    ).all(), "naive softmax survived"
    return sdpa_json(
        "sdpa.stability", Q, K, V, scale, ", scores of magnitude 1000-5000"
    )


def mha_case(
    rng: np.random.Generator,
    item: str,
    B: int,
    L: int,
    D: int,
    num_heads: int,
) -> Json:
    """multi_head_attention on standard normal inputs and Xavier-scaled weights."""
    inputs = rng.standard_normal((B, L, D))
    weights = (xavier(rng, D), xavier(rng, D), xavier(rng, D))
    return mha_json(item, inputs, weights, num_heads, f"B={B}, L={L}, D={D}")


def assignment_example_case(rng: np.random.Generator) -> Json:
    """The assignment's own main(): uniform [0, 1) inputs (1, 5, 32) and weights, 4 heads."""
    inputs = rng.random((1, 5, 32))
    weights = (rng.random((32, 32)), rng.random((32, 32)), rng.random((32, 32)))
    note = "assignment example: uniform [0, 1) data, B=1, L=5, D=32"
    return mha_json("mha.values", inputs, weights, 4, note)


def mha_json(
    item: str,
    inputs: Array,
    weights: tuple[Array, Array, Array],
    num_heads: int,
    note: str,
) -> Json:
    """A multi_head_attention case; expects ValueError where the reference raises it."""
    args = [{"array": array_json(a)} for a in (inputs, *weights)] + [{"int": num_heads}]
    heads = f"{num_heads} head" + ("" if num_heads == 1 else "s")
    try:
        expected: Json = {
            "arrays": [array_json(multi_head_attention(inputs, *weights, num_heads))]
        }
    except ValueError:
        expected = {"raises": "ValueError"}
    return case(item, "multi_head_attention", f"{note}, {heads}", args, expected)


def bad_heads_case(
    rng: np.random.Generator, B: int, L: int, D: int, num_heads: int
) -> Json:
    """A head count that is < 1 or does not divide D: the reference must raise ValueError."""
    built = mha_case(rng, "mha.bad_heads", B, L, D, num_heads)
    assert built["expected"] == {"raises": "ValueError"}, "bad_heads case is valid"
    return built


def public_cases(rng: np.random.Generator) -> list[Json]:
    """The public set: about two cases per rubric item, shipped with the handout."""
    return [
        qkv_case(rng, "qkv.values", 2, 5, 8),
        qkv_case(rng, "qkv.values", 3, 4, 6),
        qkv_case(rng, "qkv.shapes", 1, 3, 8),
        qkv_case(rng, "qkv.shapes", 3, 7, 4),
        sdpa_case(rng, "sdpa.values", (2,), 3, 5, 4, 6, 0.7),
        sdpa_case(rng, "sdpa.values", (2, 3), 4, 6, 8, 5, 0.25),
        stability_case(rng, (2,), 4, 6, 8, 5, 0.5),
        sdpa_case(rng, "sdpa.shapes", (3,), 2, 5, 7, 4, 0.4),
        sdpa_case(rng, "sdpa.shapes", (2, 2), 3, 4, 5, 3, 0.6),
        assignment_example_case(rng),
        mha_case(rng, "mha.values", 2, 5, 8, 2),
        mha_case(rng, "mha.values", 2, 4, 6, 6),
        mha_case(rng, "mha.shapes", 2, 3, 8, 4),
        mha_case(rng, "mha.shapes", 3, 6, 4, 2),
        bad_heads_case(rng, 2, 3, 8, 3),
    ]


def hidden_cases(rng: np.random.Generator) -> list[Json]:
    """The hidden set: two or three cases per item, other shapes and data than public."""
    return [
        qkv_case(rng, "qkv.values", 2, 7, 12),
        qkv_case(rng, "qkv.values", 4, 3, 6),
        qkv_case(rng, "qkv.values", 1, 6, 10),
        qkv_case(rng, "qkv.shapes", 2, 9, 6),
        qkv_case(rng, "qkv.shapes", 5, 2, 12),
        sdpa_case(rng, "sdpa.values", (3,), 4, 7, 6, 3, 1.3),
        sdpa_case(rng, "sdpa.values", (2, 2), 5, 3, 4, 7, 0.3),
        sdpa_case(rng, "sdpa.values", (2,), 6, 6, 5, 2, 1.0 / math.sqrt(5)),
        stability_case(rng, (3,), 5, 3, 6, 4, 0.25),
        stability_case(rng, (2, 2), 3, 5, 4, 6, 2.0),
        sdpa_case(rng, "sdpa.shapes", (4,), 3, 8, 6, 2, 0.5),
        sdpa_case(rng, "sdpa.shapes", (3, 2), 4, 6, 3, 5, 0.9),
        mha_case(rng, "mha.values", 2, 6, 12, 3),
        mha_case(rng, "mha.values", 3, 4, 6, 1),
        mha_case(rng, "mha.values", 2, 5, 4, 4),
        mha_case(rng, "mha.shapes", 2, 5, 12, 6),
        mha_case(rng, "mha.shapes", 4, 2, 6, 3),
        mha_case(rng, "mha.shapes", 2, 9, 8, 8),
        bad_heads_case(rng, 2, 4, 6, 4),
        bad_heads_case(rng, 2, 3, 8, 0),
        bad_heads_case(rng, 1, 5, 4, -2),
    ]


def number(cases: list[Json], prefix: str) -> list[Json]:
    """Give each case a stable id: ``<prefix><item>-<n>``, n counting within its item."""
    seen: dict[str, int] = {}
    for c in cases:
        seen[c["item"]] = seen.get(c["item"], 0) + 1
        c["id"] = (
            f"{prefix}{c['item'].replace('.', '-').replace('_', '-')}-{seen[c['item']]}"
        )
    return cases


def render(set_name: str, seed: int, cases: list[Json]) -> str:
    """Serialise a set with sorted keys and one case per line, so diffs stay readable."""
    lines = ",\n".join(json.dumps(c, sort_keys=True, allow_nan=False) for c in cases)
    tail = json.dumps({"format": FORMAT, "seed": seed, "set": set_name}, sort_keys=True)
    return '{"cases": [\n' + lines + "\n], " + tail[1:] + "\n"


def build(seed: int) -> dict[str, str]:
    """All fixture files for ``seed``, name -> text, the manifest included."""
    public_rng, hidden_rng = np.random.default_rng(seed).spawn(2)
    texts = {
        "public.json": render("public", seed, number(public_cases(public_rng), "")),
        "hidden.json": render(
            "hidden", seed, number(hidden_cases(hidden_rng), "hidden-")
        ),
    }
    texts[MANIFEST] = "".join(
        f"{hashlib.sha256(texts[name].encode()).hexdigest()}  {name}\n"
        for name in sorted(texts)
    )
    return texts


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the fixture files for ``--seed`` into ``--out``."""
    parser = argparse.ArgumentParser(
        prog="python -m solution.fixtures",
        description="Generate the public and hidden graded cases from the reference.",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for the fixture files"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in build(args.seed).items():
        (args.out / name).write_bytes(text.encode())
    for set_name in SETS:
        cases = json.loads((args.out / f"{set_name}.json").read_text())["cases"]
        print(f"{set_name}: {len(cases)} cases -> {args.out / f'{set_name}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
