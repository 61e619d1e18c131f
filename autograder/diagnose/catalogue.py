"""The catalogue of misconceptions: each a ``Mistake`` to replay, where it shows, and its words.

``VARIANTS`` names each misconception with the fixed sentence feedback gives and the ways to
replay it (``replay.Mistake``). ``references`` replays them on a failing case's inputs, in
the grader only. docs/diagnosis.md lists them and the mutant catalogue that proves them.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.contract.functions import EXAMPLE_HEADS, MHA, QKV, SDPA
from autograder.diagnose.replay import Mistake
from autograder.judge.causes import ATTENTION, SOFTMAX_COLUMNS, SOFTMAX_KEEPDIMS


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
