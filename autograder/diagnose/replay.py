"""Replay the reference computation with one misconception (or two) switched on.

A ``Mistake`` says which step goes wrong and how; ``softmax``, ``attention``,
``projections`` and ``multi_head`` compute with it, written the way students write them;
``replay`` gives what a graded function with that mistake returns on a case's inputs. The
default ``Mistake()`` is the correct computation, so this module runs in the grader only:
never in the child, never shipped to students.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.contract.functions import (
    EXAMPLE_HEADS,
    EXAMPLE_SHAPE,
    QKV,
    SDPA,
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
