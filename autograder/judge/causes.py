"""Likely causes as fixed sentences, and the reading of an exception's type, numpy's
message and the student's own line.

Every sentence here carries no case data: it may stand beside any case, hidden ones too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..contract.functions import EXAMPLE_SHAPE, FUNCTIONS, MHA, QKV, SDPA
from ..contract.outcomes import Raised
from .case import Case

NO_OWN_DIVISIBILITY_CHECK = (
    "no ValueError of your own when num_heads does not divide D (any numpy error that "
    "happens instead does not count): check `D % num_heads != 0` first and "
    "`raise ValueError(...)`"
)
NO_OWN_POSITIVE_CHECK = (
    "no ValueError of your own when num_heads < 1 (numpy's errors, or a division by "
    "zero, do not count): check `num_heads < 1` first, before dividing by it, and "
    "`raise ValueError(...)`"
)
RAISE_NOT_ASSERT = (
    "use `raise ValueError(...)` for a bad head count, not `assert` (an assert raises "
    "AssertionError, and vanishes under python -O)"
)
OWN_CHECK_REFUSES = (
    "your multi_head_attention raised its own ValueError for a head count that is "
    "valid (num_heads >= 1 divides D): check the condition, with D taken from "
    "inputs.shape"
)
MODIFIED_IN_PLACE = (
    "an argument was modified in place; compute into new arrays instead (e.g. "
    "`x = x - m` or `scores = Q @ K_t * scale`, not `x -= m` or `Q *= scale`)"
)
RETURNS_PAIR = (
    "your scaled_dot_product_attention returns (output, weights), as PyTorch's and "
    "TensorFlow's attention layers do: return only the output array"
)
# Results of a dtype the kit cannot compare, by dtype name without its width.
DTYPE_CAUSES = {
    "float": "half precision (float16) keeps about 3 significant digits, too few for these "
    "checks: compute and return float64 (or float32)",
    "int": "integer results: something made the arrays integers (e.g. np.zeros(shape, "
    "dtype=int), or a floor division `//`); compute and return float64 arrays",
    "uint": "integer results: something made the arrays integers; compute and return "
    "float64 arrays",
    "bool": "boolean results (a comparison where a value was meant?): return float64 "
    "arrays",
}
FLOAT32_SIZED_32 = (
    "your result is float32 and misses by about what float32 rounding gives (float32 "
    "keeps about 7 significant digits): compute in float64, or keep the float32 "
    "computation stable (subtract each row's maximum before exp)"
)
FLOAT32_SIZED_64 = (
    "your result is float64 but misses by about what float32 rounding gives: if you "
    "compute in float32, return the float32 arrays (they are judged with float32's "
    "tolerance) or compute in float64 throughout"
)
EXAMPLE_SIZES = (
    "a reshape asks for the assignment's example sizes (B=1, L=5, D=32, 4 heads, head_dim "
    "8) on other inputs: these sizes are hard-coded to the assignment's example; take B, L, "
    "D from inputs.shape and head_dim = D // num_heads"
)
RESHAPE_MISFIT = (
    "a reshape in multi_head_attention (or a function it calls) does not fit the array it "
    "is given: take B, L, D from inputs.shape and head_dim = D // num_heads rather than "
    "fixed numbers"
)
RANK_ONLY = (
    "right for inputs with one leading batch axis (3-D) but not with two (4-D, as "
    "multi-head passes (B, h, L, head_dim)): avoid fixed axis numbers; use axis=-1 and "
    "np.swapaxes(K, -1, -2)"
)
SOFTMAX_FIXED_AXIS = (
    "your softmax's axis is right for 3-D inputs but not for 4-D ones (B, h, Lq, Lk), "
    "where it normalises over the queries: a fixed axis (axis=1 on a per-batch slice, or "
    "axis=2) counts from the front; use axis=-1"
)
STEP_QKV = (
    "your create_qkv already fails on this case's inputs (it raises, or its Q, K, V "
    "differ from the right ones), so it is the first wrong step: fix create_qkv first"
)
STEP_SDPA = (
    "your create_qkv is right on this case's inputs, but your "
    "scaled_dot_product_attention is wrong on the per-head arrays (B, h, L, head_dim) a "
    "correct split gives them: fix it on 4-D inputs first"
)
STEP_SPLIT_MERGE = (
    "your create_qkv is right on this case's inputs and your attention is right on the "
    "per-head arrays a correct split gives, so the heads are split or merged wrongly (or "
    "the scale passed for each head is wrong)"
)
# Where localisation found a known cause: said next to the items it affects.
WHERE_QKV = "in your create_qkv, which gives wrong Q, K, V on these inputs"
WHERE_SDPA = "in your scaled_dot_product_attention, on the per-head arrays"
SOFTMAX_COLUMNS = "softmax_columns"  # the catalogue's key for a softmax over axis -2

# Exceptions that point at one classic mistake: (functions, exception types, a pattern
# of numpy's message, a pattern of the student's line (or ""), explanation).
ATTENTION = frozenset({SDPA, MHA})
RaisedPattern = tuple[frozenset[str], frozenset[str], str, str, str]
SOFTMAX_KEEPDIMS = (
    "the softmax's max or sum was taken without keepdims=True, so it does not line up "
    "with the scores (shapes that cannot be broadcast, or each weight divided by another "
    "row's total): use x.max(axis=-1, keepdims=True) and e.sum(axis=-1, keepdims=True)"
)
TORCH_TRANSPOSE = (
    "`x.transpose(-2, -1)` (or (-1, -2)) is PyTorch's swap of two axes; numpy's transpose "
    "wants the whole order of axes, so it fails on 3-D and 4-D arrays (and on a 2-D array "
    "(-2, -1) transposes nothing): use np.swapaxes(x, -1, -2)"
)
RAISED_PATTERNS: tuple[RaisedPattern, ...] = (
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"unexpected keyword argument 'perm'",
        "",
        "`np.transpose(x, perm=...)` is TensorFlow's spelling; numpy's is "
        "np.transpose(x, axes=...) (or np.swapaxes to swap two axes)",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"(keyword argument|invalid keyword argument).*'(dim|keepdim)'",
        "",
        "`dim=` and `keepdim=` are PyTorch's names; numpy's functions take `axis=` and "
        "`keepdims=True`",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError", "ValueError"}),
        r"view\(\) takes|as a data type|sub-type of ndarray",
        r"\.view\(",
        "`x.view(...)` reshapes in PyTorch, but in numpy `view` reinterprets the dtype: "
        "use x.reshape(...)",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"AttributeError"}),
        r"has no attribute '(permute|contiguous|bmm|masked_fill|unsqueeze|softmax)'",
        "",
        "that method is PyTorch's, not numpy's: use np.transpose / np.swapaxes, "
        "np.matmul, np.expand_dims, and write the softmax yourself",
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"'int' object is not callable",
        r"\.size\(",
        "`x.size(...)` is PyTorch's; in numpy `x.size` is the number of elements (a "
        "number, not a method): use x.shape[...]",
    ),
    (
        ATTENTION,
        frozenset({"ValueError"}),
        r"axes don't match array",
        r"\.transpose\(\s*-?\d+\s*,\s*-?\d+\s*\)",
        TORCH_TRANSPOSE,
    ),
    (
        frozenset(FUNCTIONS),
        frozenset({"TypeError"}),
        r"'float' object cannot be interpreted as an integer",
        "",
        "a size computed with `/` is a float (e.g. `head_dim = D / num_heads`), which "
        "reshape refuses: use `//` for sizes",
    ),
    (
        frozenset({QKV}),
        frozenset({"ValueError"}),
        r"matmul|not aligned|remapped shapes",
        "",
        "the matrix product does not line up: multiply in the order inputs @ weights_q "
        "((B, L, D) @ (D, D)), not weights_q @ inputs",
    ),
    (
        ATTENTION,
        frozenset({"ValueError"}),
        r"axes don't match array",
        "",
        "a transpose with fixed axes (e.g. K.transpose(0, 2, 1)) only fits arrays with "
        "that many axes; use np.swapaxes(K, -1, -2), which works for 3-D and 4-D inputs",
    ),
    (
        ATTENTION,
        frozenset({"ValueError"}),
        r"values to unpack",
        "",
        "a shape was unpacked into a fixed number of names (e.g. `B, L, d = Q.shape`), "
        "which fails for 4-D inputs; write it for any number of leading axes "
        "(Q.shape[-1], np.swapaxes(K, -1, -2), axis=-1)",
    ),
    (
        frozenset({SDPA}),
        frozenset({"ValueError"}),
        r"matmul|not aligned|remapped shapes",
        "",
        "Q @ K^T does not line up: `K.T` on a batched array reverses every axis (and "
        "np.dot is not batched); use Q @ np.swapaxes(K, -1, -2)",
    ),
    (
        frozenset({SDPA}),
        frozenset({"ValueError"}),
        r"could not be broadcast",
        "",
        SOFTMAX_KEEPDIMS,
    ),
)
RESHAPE = re.compile(r"cannot reshape array of size (\d+) into shape \(([-\d, ]*)\)")


def read_exception(
    case: Case, raised: Raised, source_lines: Sequence[str] = ()
) -> str | None:
    """A likely cause for an exception, read from its type, numpy's message and the
    student's own line; None when nothing points at one mistake."""
    line = ""
    if raised.line is not None and 0 < raised.line <= len(source_lines):
        line = source_lines[raised.line - 1]
    for functions, kinds, message, code_line, explanation in RAISED_PATTERNS:
        if (
            case.function in functions
            and raised.type in kinds
            and re.search(message, raised.message)
            and (not code_line or re.search(code_line, line))
        ):
            return explanation
    if case.function == MHA and raised.type == "ValueError" and raised.raised_here:
        return OWN_CHECK_REFUSES
    reshape = RESHAPE.search(raised.message)
    if case.function == MHA and raised.type == "ValueError" and reshape:
        return _read_reshape(case, reshape)
    return None


def _read_reshape(case: Case, found: re.Match[str]) -> str:
    """A reshape that did not fit: sized for the assignment's example, or just misfit."""
    dims = [int(d) for d in found[2].replace(" ", "").split(",") if d]
    inputs = case.args[0]
    known = [d for d in dims if d != -1]
    example_size = int(np.prod(EXAMPLE_SHAPE))
    sized_for_example = int(np.prod(known)) == example_size or dims[:2] == [1, 5]
    if (
        isinstance(inputs, np.ndarray)
        and inputs.shape != EXAMPLE_SHAPE
        and sized_for_example
    ):
        return EXAMPLE_SIZES
    return RESHAPE_MISFIT
