"""Name the likely mistake: replay known-wrong variants of the computation in the grader.

Each variant is the correct computation with one misconception switched on. When a
student's output matches a variant's output on the same case (within tolerance), the
variant's explanation is the diagnosis. An exception is read the same way: numpy's own
error texts point at a handful of classic mistakes. A last pass looks across cases (right
on the assignment's example and wrong elsewhere, right in 3-D and wrong in 4-D, or a
multi-head failure inherited from a helper's diagnosed mistake). Variants run only here,
never in the child, and every explanation is a fixed sentence: it mentions no case's data
or shape. docs/diagnosis.md lists them and the mutant catalogue that proves them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.channel import FloatArray

if TYPE_CHECKING:
    from autograder.casebook import Case
    from autograder.plugin import CaseResult
    from autograder.remote import Raised

QKV, SDPA, MHA = "create_qkv", "scaled_dot_product_attention", "multi_head_attention"

# The assignment's own main(): inputs (1, 5, 32), 4 heads (public; the handout shows it).
EXAMPLE_SHAPE, EXAMPLE_HEADS = (1, 5, 32), 4


@dataclass(frozen=True)
class Mistake:
    """One misconception (or a pair); the default values are the correct computation."""

    # given | none | inverted | squared | model_dim | own_dk | after_softmax | example
    scale: str = "given"
    # last | columns | matrix | everything | no_keepdims | unstable
    softmax: str = "last"
    returns_weights: bool = False
    kt_all_axes: bool = False
    split: str = "transpose"  # transpose | reshape_only | no_swap | interleaved | none
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

    def split(x: FloatArray) -> FloatArray:
        if mistake.split == "reshape_only":
            return x.reshape(batch, heads, length, head_dim)  # mixes positions
        if mistake.split == "no_swap":
            return x.reshape(batch, length, heads, head_dim)  # attends over heads
        if mistake.split == "interleaved":
            return x.reshape(batch, length, head_dim, heads).transpose(0, 3, 1, 2)
        return x.reshape(batch, length, heads, head_dim).swapaxes(1, 2)  # (B, h, L, hd)

    out = attention(split(q), split(k), split(v), scale, mistake, dim)  # (B, h, L, hd)
    if mistake.returns_weights:
        return out
    if mistake.split == "no_swap" or mistake.merge == "reshape_only":
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


ATTENTION = frozenset({SDPA, MHA})
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
        "softmax_columns",
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
        "the softmax's sum was taken without keepdims=True, so each weight was divided by "
        "another row's total: use e.sum(axis=-1, keepdims=True)",
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

# Exceptions: numpy's messages that point at one classic mistake, per function.
MHA_RESHAPE = (
    "a reshape does not fit the array it is given: check the shapes your helper "
    "functions return, and take B, L, D from inputs.shape and head_dim = D // num_heads "
    "rather than fixed numbers"
)
MHA_PRODUCT = (
    "a matrix product inside multi_head_attention (or a function it calls) does not "
    "line up: check create_qkv and scaled_dot_product_attention on their own first"
)
MHA_BROADCAST = (
    "shapes could not be broadcast inside multi_head_attention (or a function it "
    "calls): check scaled_dot_product_attention on 4-D inputs (B, h, L, head_dim)"
)
# Diagnoses a look across cases may replace with a sharper one (see ``review``).
WEAK = frozenset({MHA_RESHAPE, MHA_PRODUCT, MHA_BROADCAST})

RAISED_PATTERNS: tuple[tuple[frozenset[str], str, str], ...] = (
    (
        frozenset({QKV}),
        r"matmul|not aligned|remapped shapes",
        "the matrix product does not line up: multiply in the order inputs @ weights_q "
        "((B, L, D) @ (D, D)), not weights_q @ inputs",
    ),
    (
        ATTENTION,
        r"axes don't match array",
        "a transpose with fixed axes (e.g. K.transpose(0, 2, 1)) only fits arrays with "
        "that many axes; use np.swapaxes(K, -1, -2), which works for 3-D and 4-D inputs",
    ),
    (
        ATTENTION,
        r"values to unpack",
        "a shape was unpacked into a fixed number of names (e.g. `B, L, d = Q.shape`), "
        "which fails for 4-D inputs; write it for any number of leading axes "
        "(Q.shape[-1], np.swapaxes(K, -1, -2), axis=-1)",
    ),
    (
        frozenset({SDPA}),
        r"matmul|not aligned|remapped shapes",
        "Q @ K^T does not line up: `K.T` on a batched array reverses every axis (and "
        "np.dot is not batched); use Q @ np.swapaxes(K, -1, -2)",
    ),
    (
        frozenset({SDPA}),
        r"could not be broadcast",
        "shapes could not be broadcast: in a softmax this is usually a max or sum taken "
        "without keepdims=True; use x.max(axis=-1, keepdims=True) and the same for sum",
    ),
    (HEADS, r"matmul|not aligned|remapped shapes", MHA_PRODUCT),
    (HEADS, r"could not be broadcast", MHA_BROADCAST),
    (HEADS, r"cannot reshape array", MHA_RESHAPE),
)

EXAMPLE_ONLY = (
    "right on the assignment's example (B=1, L=5, D=32, 4 heads) but wrong on other "
    "shapes: look for sizes hard-coded to the assignment's example (1, 5, 32, 4 heads, "
    "head_dim 8) and derive them from inputs.shape and num_heads"
)
RANK_ONLY = (
    "right for inputs with one leading batch axis (3-D) but not with two (4-D, as "
    "multi-head passes (B, h, L, head_dim)): avoid fixed axis numbers; use axis=-1 and "
    "np.swapaxes(K, -1, -2)"
)


def inherited(function: str, cause: str) -> str:
    """A multi-head failure explained by a helper's diagnosed mistake."""
    return (
        f"probably inherited from your {function} (if multi_head_attention calls it), "
        f"where: {cause}"
    )


_cache: dict[tuple[int, Mistake], tuple[Case, list[FloatArray] | None]] = {}


def _replay(case: Case, mistake: Mistake) -> list[FloatArray] | None:
    """The variant's output on ``case``, or None when the variant cannot run on it."""
    key = (id(case), mistake)
    hit = _cache.get(key)
    if hit is not None and hit[0] is case:
        return hit[1]
    args: list[Any] = list(case.args)
    result: list[FloatArray] | None
    try:
        with np.errstate(all="ignore"):
            if case.function == QKV:
                result = list(projections(args[0], args[1:4], mistake))
            elif case.function == SDPA:
                scale = float(args[3])
                result = [attention(args[0], args[1], args[2], scale, mistake)]
            else:
                result = [multi_head(args[0], args[1:4], int(args[4]), mistake)]
    except (ValueError, IndexError):
        result = None
    if len(_cache) > 20_000:
        _cache.clear()
    _cache[key] = (case, result)
    return result


def _matches(
    replay: list[FloatArray],
    values: Sequence[FloatArray | None],
    shapes: Sequence[tuple[int, ...] | None],
    shape_only: bool,
) -> bool:
    """Same shapes, and (unless only shapes are graded) the same numbers.

    Non-finite values match when the variant is non-finite at the same places, so an
    unstabilised softmax is recognised by where its NaNs are.
    """
    if len(replay) != len(values):
        return False
    for want, got, shape in zip(replay, values, shapes):
        if want.shape != shape:
            return False
        if shape_only:
            continue
        if got is None:
            return False
        got64 = got.astype(np.float64)
        both = np.isfinite(got64) & np.isfinite(want)
        if not np.array_equal(np.isfinite(got64), np.isfinite(want)):
            return False
        if not np.allclose(got64[both], want[both], rtol=1e-4, atol=1e-6):
            return False
    return True


def _applicable(case: Case) -> list[Variant]:
    return [v for v in VARIANTS if case.function in v.functions]


def variant_outputs(case: Case) -> list[tuple[Variant, list[FloatArray]]]:
    """Every way of replaying each misconception that applies to ``case``, with its output."""
    outputs = []
    for variant in _applicable(case):
        for mistake in variant.mistakes:
            replay = _replay(case, mistake)
            if replay is not None:
                outputs.append((variant, replay))
    return outputs


def explain(
    case: Case,
    values: Sequence[FloatArray | None],
    shapes: Sequence[tuple[int, ...] | None],
) -> Variant | None:
    """The first variant (or pair of variants) that reproduces the student's output."""
    if case.raises is not None or not case.expected:
        return None
    shape_only = case.check == "shapes"
    variants = _applicable(case)
    for variant in variants:
        for mistake in variant.mistakes:
            replay = _replay(case, mistake)
            if replay is not None and _matches(replay, values, shapes, shape_only):
                return variant
    if shape_only:
        return None
    for index, first in enumerate(variants):
        for second in variants[index + 1 :]:
            both = first.mistakes[0].combined(second.mistakes[0])
            if both is None:
                continue
            replay = _replay(case, both)
            if replay is not None and _matches(replay, values, shapes, False):
                return Variant(
                    f"{first.key}+{second.key}",
                    (both,),
                    first.functions & second.functions,
                    f"two mistakes at once: {first.explanation}; and "
                    f"{second.explanation}",
                )
    return None


def diagnose(
    case: Case,
    values: Sequence[FloatArray | None],
    shapes: Sequence[tuple[int, ...] | None],
) -> str | None:
    """The explanation of the first variant that reproduces the student's output."""
    variant = explain(case, values, shapes)
    return variant.explanation if variant else None


def diagnose_raised(case: Case, raised: Raised) -> str | None:
    """A likely cause for an exception, read from its type and numpy's message."""
    if case.raises is not None or raised.type != "ValueError":
        return None
    for functions, pattern, explanation in RAISED_PATTERNS:
        if case.function in functions and re.search(pattern, raised.message):
            return explanation
    return None


def _is_example(case: Case) -> bool:
    first, heads = case.args[0], case.args[-1]
    return (
        case.function == MHA
        and isinstance(first, np.ndarray)
        and first.shape == EXAMPLE_SHAPE
        and heads == EXAMPLE_HEADS
    )


def _most_common(results: Iterable[CaseResult]) -> str | None:
    causes = [r.diagnosis for r in results if not r.passed and r.diagnosis]
    return max(set(causes), key=causes.count) if causes else None


def review(cases: Iterable[Case], results: list[CaseResult]) -> list[CaseResult]:
    """Diagnoses that need several cases: right on one kind of input, wrong on another,
    or a multi-head failure whose cause is a helper's diagnosed mistake.

    Fills in only results that failed after the function returned or raised (a timeout or
    crash says nothing about shapes) with no diagnosis or a weak one; the message gains
    the cause.
    """
    by_id = {case.id: case for case in cases}
    known = [r for r in results if r.case_id in by_id]

    def ran(result: CaseResult) -> bool:
        return result.returned or " raised " in result.message

    def rank(result: CaseResult) -> int:
        first = by_id[result.case_id].args[0]
        return first.ndim if isinstance(first, np.ndarray) else 0

    mha = [r for r in known if r.item in ("mha.values", "mha.shapes")]
    example_passed = any(r.passed and _is_example(by_id[r.case_id]) for r in mha)
    sdpa = [r for r in known if r.item.startswith("sdpa.")]
    rank_only = (
        any(rank(r) == 3 for r in sdpa)
        and any(rank(r) == 4 for r in sdpa)
        and all(r.passed for r in sdpa if rank(r) == 3)
        and not any(r.passed for r in sdpa if rank(r) == 4)
    )
    helper = _most_common(r for r in known if r.item.startswith("qkv."))
    helper_name = QKV
    if helper is None:
        helper, helper_name = _most_common(sdpa), SDPA
    reviewed = []
    for result in results:
        cause = None
        vague = result.diagnosis is None or result.diagnosis in WEAK
        if not result.passed and vague and ran(result):
            if example_passed and result in mha:
                cause = EXAMPLE_ONLY
            elif result in mha and helper is not None:
                cause = inherited(helper_name, helper)
            elif rank_only and result.diagnosis is None and result in sdpa:
                cause = RANK_ONLY if rank(result) == 4 else None
        if cause:
            message = result.message.split(". Likely cause: ")[0]
            result = replace(
                result, diagnosis=cause, message=f"{message}. Likely cause: {cause}"
            )
        reviewed.append(result)
    return reviewed
