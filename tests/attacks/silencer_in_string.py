"""Attack: silence mypy from where a tokenizer sees no comment: ``# mypy:`` lines and
``# type: ignore`` inside string literals (mypy reads inline configuration line by line),
around a type error.

Contained: every silencer is neutralised in the text mypy reads, inside strings too (a
string's text may change, never its type); the typing point is not earned.
"""

import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    raise NotImplementedError


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    raise NotImplementedError


NOTE = """
# mypy: ignore-errors
# mypy: disable-error-code="return-value"
"""


def _helper(a: int) -> str:
    return a  # type:ignore[return-value]  # noqa
