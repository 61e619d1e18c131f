"""Name the likely mistake: replay known-wrong variants of the computation in the grader.

Each variant is the correct computation with one misconception switched on. When a
student's output matches a variant's output on the same case (within tolerance), the
variant's explanation is the diagnosis. Variants run only here, never in the child, and
their explanations mention no case data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.channel import FloatArray

if TYPE_CHECKING:
    from autograder.casebook import Case


@dataclass(frozen=True)
class Mistake:
    """One misconception; the default values are the correct computation."""

    scale: str = "given"  # given | none | inverted | full_dim | squared
    softmax_axis: str = "last"  # last | rows | all
    returns_weights: bool = False
    split: str = "transpose"  # transpose | reshape_only | interleaved
    merge: str = "transpose"  # transpose | reshape_only
    weights_transposed: bool = False
    kt_all_axes: bool = False
    qkv_weights: tuple[int, int, int] = (0, 1, 2)
    first_batch_only: bool = False


def softmax(scores: FloatArray, axis: str) -> FloatArray:
    """Row softmax (or a misplaced one), always stabilised."""
    axes: Any = {"last": -1, "rows": -2, "all": (-2, -1)}[axis]
    shifted = scores - scores.max(axis=axes, keepdims=True)
    weights = np.exp(shifted)
    result: FloatArray = weights / weights.sum(axis=axes, keepdims=True)
    return result


def _scale(scale: float, head_dim: int, model_dim: int, mistake: Mistake) -> float:
    return float(
        {
            "given": scale,
            "none": 1.0,
            "inverted": 1.0 / scale,
            "full_dim": scale * np.sqrt(head_dim) / np.sqrt(model_dim),
            "squared": scale * scale,
        }[mistake.scale]
    )


def attention(
    q: FloatArray, k: FloatArray, v: FloatArray, scale: float, mistake: Mistake
) -> FloatArray:
    """scaled_dot_product_attention with ``mistake`` switched on."""
    if mistake.kt_all_axes:
        scores = np.matmul(q, k.T) * scale  # K.T reverses every axis of a batch
    else:
        scores = q @ np.swapaxes(k, -1, -2) * scale  # (..., Lq, Lk)
    weights = softmax(scores, mistake.softmax_axis)
    if mistake.returns_weights:
        return weights
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


def multi_head(
    inputs: FloatArray, weights: Sequence[FloatArray], heads: int, mistake: Mistake
) -> FloatArray:
    """multi_head_attention with ``mistake`` switched on."""
    if mistake.first_batch_only:
        inputs = inputs[:1]
    batch, length, dim = inputs.shape
    head_dim = dim // heads
    q, k, v = projections(inputs, weights, mistake)

    def split(x: FloatArray) -> FloatArray:
        if mistake.split == "reshape_only":
            return x.reshape(batch, heads, length, head_dim)  # mixes positions
        if mistake.split == "interleaved":
            return x.reshape(batch, length, head_dim, heads).transpose(0, 3, 1, 2)
        return x.reshape(batch, length, heads, head_dim).swapaxes(1, 2)  # (B, h, L, hd)

    scale = _scale(1.0 / np.sqrt(head_dim), head_dim, dim, mistake)
    heads_out = attention(split(q), split(k), split(v), scale, mistake)  # (B, h, L, hd)
    if mistake.returns_weights:
        return heads_out
    if mistake.merge == "reshape_only":
        return heads_out.reshape(batch, length, dim)
    return heads_out.swapaxes(1, 2).reshape(batch, length, dim)  # (B, L, D)


@dataclass(frozen=True)
class Variant:
    """A misconception, the functions it shows in, and how to explain it."""

    mistake: Mistake
    functions: frozenset[str]
    explanation: str


SDPA, MHA, QKV = "scaled_dot_product_attention", "multi_head_attention", "create_qkv"
BOTH = frozenset({SDPA, MHA})

VARIANTS: tuple[Variant, ...] = (
    Variant(
        Mistake(scale="none"),
        BOTH,
        "your attention matches the result without the scale "
        "(the scores were never multiplied by `scale`, 1/sqrt(head_dim) in multi-head)",
    ),
    Variant(
        Mistake(scale="inverted"),
        BOTH,
        "the scores were divided by `scale` instead of "
        "multiplied by it (scale multiplies the scores, as in PyTorch)",
    ),
    Variant(Mistake(scale="squared"), BOTH, "the scale was applied twice"),
    Variant(
        Mistake(scale="full_dim"),
        frozenset({MHA}),
        "each head was scaled by " "1/sqrt(D) instead of 1/sqrt(head_dim)",
    ),
    Variant(
        Mistake(softmax_axis="rows"),
        BOTH,
        "your softmax normalises over the wrong axis "
        "(columns instead of rows): use axis=-1 so each query's weights sum to 1",
    ),
    Variant(
        Mistake(softmax_axis="all"),
        BOTH,
        "your softmax normalises over the whole score "
        "matrix instead of each row: use axis=-1 with keepdims=True",
    ),
    Variant(
        Mistake(returns_weights=True),
        BOTH,
        "you returned the attention weights "
        "softmax(QK^T*scale) instead of multiplying them by V",
    ),
    Variant(
        Mistake(kt_all_axes=True),
        BOTH,
        "`K.T` on a batched array reverses every axis; "
        "use np.swapaxes(K, -1, -2) (or K.transpose(0, 2, 1)) to swap only the last two",
    ),
    Variant(
        Mistake(split="reshape_only"),
        frozenset({MHA}),
        "heads were split by reshape "
        "without moving the head axis, which mixes positions: reshape to (B, L, h, hd), "
        "then swap axes 1 and 2",
    ),
    Variant(
        Mistake(merge="reshape_only"),
        frozenset({MHA}),
        "heads were merged by reshape "
        "without moving the head axis back, which mixes positions: swap axes 1 and 2 "
        "before reshaping to (B, L, D)",
    ),
    Variant(
        Mistake(split="interleaved"),
        frozenset({MHA}),
        "heads took interleaved columns; "
        "head h must use the contiguous block h*head_dim:(h+1)*head_dim",
    ),
    Variant(
        Mistake(weights_transposed=True),
        frozenset({QKV, MHA}),
        "the weights were "
        "transposed: the convention is Q = inputs @ weights_q (row vectors)",
    ),
    Variant(
        Mistake(qkv_weights=(0, 0, 2)),
        frozenset({QKV, MHA}),
        "K was computed with " "weights_q instead of weights_k",
    ),
    Variant(
        Mistake(qkv_weights=(0, 1, 1)),
        frozenset({QKV, MHA}),
        "V was computed with " "weights_k instead of weights_v",
    ),
    Variant(
        Mistake(qkv_weights=(1, 0, 2)),
        frozenset({QKV, MHA}),
        "Q and K are swapped " "(Q must use weights_q, K weights_k)",
    ),
    Variant(
        Mistake(first_batch_only=True),
        frozenset({MHA}),
        "only the first batch element "
        "was processed: handle every element of the batch axis",
    ),
)


def _replay(case: Case, mistake: Mistake) -> list[FloatArray]:
    args: list[Any] = list(case.args)
    if case.function == QKV:
        return list(projections(args[0], args[1:4], mistake))
    if case.function == SDPA:
        head_dim = args[0].shape[-1]
        scale = _scale(args[3], head_dim, head_dim, mistake)
        return [attention(args[0], args[1], args[2], scale, mistake)]
    return [multi_head(args[0], args[1:4], args[4], mistake)]


def diagnose(
    case: Case,
    values: Sequence[FloatArray | None],
    shapes: Sequence[tuple[int, ...] | None],
) -> str | None:
    """The explanation of the first variant that reproduces the student's output."""
    if case.raises is not None or not case.expected:
        return None
    for variant in VARIANTS:
        if case.function not in variant.functions:
            continue
        try:
            with np.errstate(all="ignore"):
                replay = _replay(case, variant.mistake)
        except (ValueError, IndexError):
            continue
        if _matches(replay, values, shapes, shape_only=case.check == "shapes"):
            return variant.explanation
    return None


def _matches(
    replay: list[FloatArray],
    values: Sequence[FloatArray | None],
    shapes: Sequence[tuple[int, ...] | None],
    shape_only: bool,
) -> bool:
    if len(replay) != len(values):
        return False
    for want, got, shape in zip(replay, values, shapes):
        if want.shape != shape:
            return False
        if shape_only:
            continue
        if got is None or not np.allclose(got, want, rtol=1e-4, atol=1e-6):
            return False
    return True
