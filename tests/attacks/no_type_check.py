"""Attack: turn mypy off with ``@typing.no_type_check`` (imported under another name) on a
function with a type error.

Contained: a file that names ``no_type_check`` anywhere does not earn the typing point,
with the reason.
"""

from typing import no_type_check as checked_elsewhere

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


@checked_elsewhere
def _helper(a: int) -> str:
    return a
