"""The catalogue of misconceptions: each the correct computation with one mistake switched on.

A ``Mistake`` says which step goes wrong and how; ``softmax``, ``attention``,
``projections`` and ``multi_head`` replay the computation with it; ``VARIANTS`` names each
misconception with the fixed sentence feedback gives. ``diagnose`` replays them on a failing
case's inputs, in the grader only (never in the child, never shipped to students: the
default ``Mistake()`` is the correct computation). docs/diagnosis.md lists them and the
mutant catalogue that proves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.judge.verdict import (
    ATTENTION,
    EXAMPLE_HEADS,
    EXAMPLE_SHAPE,
    MHA,
    QKV,
    SDPA,
    SOFTMAX_COLUMNS,
    SOFTMAX_KEEPDIMS,
    FloatArray,
)


@dataclass(frozen=True)
class Mistake:
    """One misconception (or a pair); the default values are the correct computation."""

    # given | none | inverted | squared | twice | model_dim | own_dk | after_softmax |
    # example
    scale: str = "given"
    # last | columns | matrix | everything | no_keepdims | unstable
    softmax: str = "last"
    returns_weights: bool = False
    diagonal: bool = (
        False  # weights @ V by an einsum that repeats an index: the diagonal
    )
    kt_all_axes: bool = False
    # transpose | reshape_only | no_swap | interleaved | none | batch_stacked |
    # reshape_transpose
    split: str = "transpose"
    merge: str = "transpose"  # transpose | reshape_only | interleaved | sequence
    weights_transposed: bool = False
    qkv_weights: tuple[int, int, int] = (0, 1, 2)
    batch: str = "all"  # all | first | first_squeezed
    heads: int | None = None  # a head count hard-coded in place of num_heads

    def combined(self, other: Mistake) -> Mistake | None:
        """Both mistakes at once, or None when they change the same step."""
        base, mine, theirs = Mistake(), vars(self), vars(other)
        merged = dict(mine)
        for name, value in theirs.items():
            if value == getattr(base, name):
                continue
            if mine[name] != getattr(base, name):
                return None
            merged[name] = value
        return Mistake(**merged)


def softmax(scores: FloatArray, mode: str) -> FloatArray:
    """Row softmax, or one of the usual wrong ones, written the way students write them."""
    if mode == "unstable":
        e = np.exp(scores)  # overflows for scores in the hundreds
        unstable: FloatArray = e / e.sum(axis=-1, keepdims=True)
        return unstable
    if mode == "no_keepdims":
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        lost: FloatArray = e / e.sum(axis=-1)  # broadcasts against the wrong axis
        return lost
    axes: Any = {"last": -1, "columns": -2, "matrix": (-2, -1), "everything": None}[
        mode
    ]
    weights = np.exp(scores - scores.max(axis=axes, keepdims=True))
    result: FloatArray = weights / weights.sum(axis=axes, keepdims=True)
    return result


def effective_scale(scale: float, dk: int, model_dim: int, mistake: Mistake) -> float:
    """The factor the scores were really multiplied by under ``mistake``."""
    return float(
        {
            "given": scale,
            "none": 1.0,
            "after_softmax": 1.0,  # the scale lands on the weights instead
            "inverted": 1.0 / scale,
            "squared": scale * scale,
            "twice": scale
            / np.sqrt(dk),  # the given scale, and the paper's 1/sqrt(d_k)
            "model_dim": 1.0 / np.sqrt(model_dim),
            "own_dk": 1.0 / np.sqrt(dk),
            "example": 1.0 / np.sqrt(EXAMPLE_SHAPE[2] // EXAMPLE_HEADS),
        }[mistake.scale]
    )


def attention(
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    scale: float,
    mistake: Mistake,
    model_dim: int | None = None,
) -> FloatArray:
    """scaled_dot_product_attention with ``mistake`` switched on.

    ``scale`` is the one the function is given; ``model_dim`` is D in multi-head.
    """
    dk = q.shape[-1]
    used = effective_scale(scale, dk, model_dim or dk, mistake)
    kt = k.T if mistake.kt_all_axes else np.swapaxes(k, -1, -2)  # (..., dk, Lk)
    scores = np.matmul(q, kt) * used  # (..., Lq, Lk)
    weights = softmax(scores, mistake.softmax)
    if mistake.scale == "after_softmax":
        weights = weights * scale
    if mistake.returns_weights:
        return weights
    if mistake.diagonal:  # einsum("...ss,...sd->...sd"): each query keeps w[s, s] only
        diagonal: FloatArray = np.einsum("...ss,...sd->...sd", weights, v)
        return diagonal
    out: FloatArray = weights @ v  # (..., Lq, dv)
    return out


def projections(
    inputs: FloatArray, weights: Sequence[FloatArray], mistake: Mistake
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """create_qkv with ``mistake`` switched on."""
    chosen = [weights[i] for i in mistake.qkv_weights]
    if mistake.weights_transposed:
        chosen = [w.T for w in chosen]
    q, k, v = (inputs @ w for w in chosen)  # (B, L, D) each
    return q, k, v


def split_heads(x: FloatArray, heads: int, how: str = "transpose") -> FloatArray:
    """(B, L, D) -> per-head arrays, split as ``how`` says (the default is right)."""
    batch, length, dim = x.shape
    head_dim = dim // heads
    if how == "reshape_only":
        return x.reshape(batch, heads, length, head_dim)  # mixes positions
    if how == "no_swap":
        return x.reshape(batch, length, heads, head_dim)  # attends over heads
    if how == "interleaved":
        return x.reshape(batch, length, head_dim, heads).transpose(0, 3, 1, 2)
    if how == "reshape_transpose":  # (B, L, h, hd) from a (B, h, L, hd) reshape
        return x.reshape(batch, heads, length, head_dim).transpose(0, 2, 1, 3)
    if (
        how == "batch_stacked"
    ):  # heads stacked on the batch axis, head-major: (h*B, L, hd)
        stacked = x.reshape(batch, length, heads, head_dim).transpose(2, 0, 1, 3)
        return stacked.reshape(heads * batch, length, head_dim)
    return x.reshape(batch, length, heads, head_dim).swapaxes(1, 2)  # (B, h, L, hd)


def multi_head(
    inputs: FloatArray, weights: Sequence[FloatArray], heads: int, mistake: Mistake
) -> FloatArray:
    """multi_head_attention with ``mistake`` switched on."""
    if mistake.batch != "all":
        inputs = inputs[:1]
    batch, length, dim = inputs.shape
    heads = mistake.heads or heads
    if heads < 1 or dim % heads:
        raise ValueError("head count does not divide D")
    head_dim = dim // heads
    q, k, v = projections(inputs, weights, mistake)  # (B, L, D) each
    scale = 1.0 / np.sqrt(head_dim)
    if mistake.split == "none":  # one head over all D columns
        out = attention(q, k, v, scale, mistake, dim)
        return out[0] if mistake.batch == "first_squeezed" else out
    qh, kh, vh = (split_heads(x, heads, mistake.split) for x in (q, k, v))
    out = attention(qh, kh, vh, scale, mistake, dim)  # (B, h, L, hd) when split right
    if mistake.returns_weights:
        return out
    if mistake.split == "batch_stacked":  # unstacked batch-major: right if B or h is 1
        merged = out.reshape(batch, heads, length, head_dim).swapaxes(1, 2)
        merged = merged.reshape(batch, length, dim)
    elif mistake.split == "reshape_transpose":  # (B, L, h, hd) back, then flattened
        merged = out.transpose(0, 2, 1, 3).reshape(batch, heads, length * head_dim)
    elif mistake.split == "no_swap" or mistake.merge == "reshape_only":
        merged = out.reshape(batch, length, dim)
    elif mistake.merge == "interleaved":
        merged = out.transpose(0, 2, 3, 1).reshape(batch, length, dim)
    elif mistake.merge == "sequence":
        merged = out.reshape(batch, heads * length, head_dim)  # concatenated on axis 1
    else:
        merged = out.swapaxes(1, 2).reshape(batch, length, dim)  # (B, L, D)
    return merged[0] if mistake.batch == "first_squeezed" else merged


@dataclass(frozen=True)
class Variant:
    """A misconception (one or more ways to replay it), where it shows, and its words."""

    key: str
    mistakes: tuple[Mistake, ...]
    functions: frozenset[str]
    explanation: str


PROJECTION = frozenset({QKV, MHA})
HEADS = frozenset({MHA})


def _v(key: str, functions: frozenset[str], text: str, *mistakes: Mistake) -> Variant:
    return Variant(key, mistakes, functions, text)


VARIANTS: tuple[Variant, ...] = (
    _v(
        "scale_missing",
        ATTENTION,
        "your attention matches the result without the scale: the scores Q @ K^T were "
        "never multiplied by `scale` (1/sqrt(head_dim) in multi-head)",
        Mistake(scale="none"),
    ),
    _v(
        "scale_inverted",
        ATTENTION,
        "the scores were divided by `scale` instead of multiplied by it (or multiplied by "
        "sqrt(head_dim)); `scale` multiplies the scores, as in PyTorch",
        Mistake(scale="inverted"),
    ),
    _v(
        "scale_twice",
        frozenset({SDPA}),
        "the scores were multiplied by `scale` and also divided by sqrt(d_k), the paper's "
        "formula on top of the scale you are given: use only `scale`",
        Mistake(scale="twice"),
    ),
    _v(
        "scale_squared",
        ATTENTION,
        "the scores were scaled by the square of the scale: the scale applied twice, or "
        "1/head_dim without the square root",
        Mistake(scale="squared"),
    ),
    _v(
        "scale_model_dim",
        HEADS,
        "each head was scaled by 1/sqrt(D) (the full model width) instead of "
        "1/sqrt(head_dim) with head_dim = D // num_heads",
        Mistake(scale="model_dim"),
    ),
    _v(
        "scale_ignored",
        frozenset({SDPA}),
        "the `scale` argument is ignored: your function uses 1/sqrt(d_k) of its own; use "
        "the scale it is given (multi_head_attention passes 1/sqrt(head_dim))",
        Mistake(scale="own_dk"),
    ),
    _v(
        "scale_after_softmax",
        ATTENTION,
        "the scale was applied after the softmax (to the weights or the output) instead "
        "of to the scores before it",
        Mistake(scale="after_softmax"),
    ),
    _v(
        "scale_example",
        HEADS,
        "the scale is hard-coded to the assignment's example (1/sqrt(8)); compute "
        "1/sqrt(head_dim) with head_dim = D // num_heads",
        Mistake(scale="example"),
    ),
    _v(
        SOFTMAX_COLUMNS,
        ATTENTION,
        "your softmax normalises over the wrong axis (columns instead of rows): use "
        "axis=-1 so each query's weights sum to 1",
        Mistake(softmax="columns"),
    ),
    _v(
        "softmax_matrix",
        ATTENTION,
        "your softmax normalises over the whole score matrix instead of each row: use "
        "axis=-1 with keepdims=True",
        Mistake(softmax="matrix"),
    ),
    _v(
        "softmax_everything",
        ATTENTION,
        "your softmax normalises over the entire array (no axis given), batch and heads "
        "included: use axis=-1 with keepdims=True",
        Mistake(softmax="everything"),
    ),
    _v(
        "softmax_unstable",
        ATTENTION,
        "softmax without max-subtraction: exp() overflows for large scores (or every "
        "exp underflows to 0, giving 0/0); subtract each row's maximum "
        "(keepdims=True) before exponentiating",
        Mistake(softmax="unstable"),
    ),
    _v(
        "softmax_keepdims",
        ATTENTION,
        SOFTMAX_KEEPDIMS,
        Mistake(softmax="no_keepdims"),
    ),
    _v(
        "returns_weights",
        ATTENTION,
        "you returned the attention weights softmax(Q @ K^T * scale) instead of "
        "multiplying them by V",
        Mistake(returns_weights=True),
    ),
    _v(
        "kt_batched",
        ATTENTION,
        "`K.T` on a batched array reverses every axis; use np.swapaxes(K, -1, -2) to swap "
        "only the last two",
        Mistake(kt_all_axes=True),
    ),
    _v(
        "split_reshape",
        HEADS,
        "heads were split by reshape without moving the head axis, which mixes "
        "positions: reshape to (B, L, h, head_dim), then swap axes 1 and 2 (and back "
        "before merging)",
        Mistake(split="reshape_only"),
        Mistake(split="reshape_only", merge="reshape_only"),
    ),
    _v(
        "merge_reshape",
        HEADS,
        "heads were merged by reshape without moving the head axis back, which mixes "
        "positions: swap axes 1 and 2 of (B, h, L, head_dim) before reshaping to (B, L, D)",
        Mistake(merge="reshape_only"),
    ),
    _v(
        "split_no_swap",
        HEADS,
        "attention ran across the heads instead of across positions: after reshaping to "
        "(B, L, h, head_dim), swap axes 1 and 2 so each head attends over the sequence",
        Mistake(split="no_swap"),
    ),
    _v(
        "split_interleaved",
        HEADS,
        "heads took interleaved columns (every h-th column); head h must use the "
        "contiguous block h*head_dim:(h+1)*head_dim",
        Mistake(split="interleaved"),
        Mistake(split="interleaved", merge="interleaved"),
    ),
    _v(
        "heads_ignored",
        HEADS,
        "the heads were never split: this is single-head attention over all D columns; "
        "split Q, K, V into num_heads blocks of head_dim columns and attend per head",
        Mistake(split="none"),
        Mistake(split="none", scale="model_dim"),
    ),
    _v(
        "merge_sequence",
        HEADS,
        "head outputs were concatenated along the sequence axis; concatenate them along "
        "the last axis (axis=-1) to get (B, L, D)",
        Mistake(merge="sequence"),
    ),
    _v(
        "heads_fixed",
        HEADS,
        "num_heads is ignored: 4 heads are hard-coded to the assignment's example; use the "
        "num_heads argument",
        Mistake(heads=EXAMPLE_HEADS),
    ),
    _v(
        "heads_batch_stacked",
        HEADS,
        "the heads were stacked on the batch axis head by head (h*B, L, head_dim) but "
        "unstacked as if batch by batch, so heads and batch elements trade places (right "
        "only when B = 1 or h = 1): stack with reshape(B, L, h, head_dim).transpose(0, 2, "
        "1, 3).reshape(B*h, L, head_dim) and undo it with reshape(B, h, L, head_dim)",
        Mistake(split="batch_stacked"),
    ),
    _v(
        "split_reshape_transpose",
        HEADS,
        "the heads were split by reshape(B, h, L, head_dim) and then transposed to (B, L, "
        "h, head_dim), so attention ran across the heads over mixed-up positions (and the "
        "merge that undoes it gives (B, h, L*head_dim)): reshape to (B, L, h, head_dim) "
        "first, then swap axes 1 and 2",
        Mistake(split="reshape_transpose"),
    ),
    _v(
        "einsum_diagonal",
        ATTENTION,
        "the weights were applied to V by an einsum that uses one letter for both the "
        "query and the key positions (e.g. 'bhss,bshd'), which keeps only the diagonal "
        "weight of each query: give the key axis its own letter, e.g. "
        "'bhqk,bhkd->bhqd'",
        Mistake(diagonal=True),
    ),
    _v(
        "weights_transposed",
        PROJECTION,
        "the weights were transposed: the convention is Q = inputs @ weights_q "
        "(row vectors), not inputs @ weights_q.T",
        Mistake(weights_transposed=True),
    ),
    _v(
        "k_uses_wq",
        PROJECTION,
        "K was computed with weights_q instead of weights_k",
        Mistake(qkv_weights=(0, 0, 2)),
    ),
    _v(
        "v_uses_wk",
        PROJECTION,
        "V was computed with weights_k instead of weights_v",
        Mistake(qkv_weights=(0, 1, 1)),
    ),
    _v(
        "v_uses_wq",
        PROJECTION,
        "V was computed with weights_q instead of weights_v",
        Mistake(qkv_weights=(0, 1, 0)),
    ),
    _v(
        "qk_swapped",
        PROJECTION,
        "Q and K are swapped (Q must use weights_q, K weights_k)",
        Mistake(qkv_weights=(1, 0, 2)),
    ),
    _v(
        "one_weight",
        PROJECTION,
        "Q, K and V were all computed with the same weight; each has its own",
        Mistake(qkv_weights=(0, 0, 0)),
    ),
    _v(
        "first_batch",
        HEADS,
        "only the first batch element was processed (e.g. inputs[0]): handle every "
        "element of the batch axis",
        Mistake(batch="first"),
        Mistake(batch="first_squeezed"),
    ),
)


def replay(
    function: str, args: Sequence[Any], mistake: Mistake
) -> list[FloatArray] | None:
    """What ``function`` with ``mistake`` gives on ``args``, or None when it cannot run."""
    try:
        with np.errstate(all="ignore"):
            if function == QKV:
                return list(projections(args[0], args[1:4], mistake))
            if function == SDPA:
                return [attention(args[0], args[1], args[2], float(args[3]), mistake)]
            return [multi_head(args[0], args[1:4], int(args[4]), mistake)]
    except (ValueError, IndexError):
        return None
