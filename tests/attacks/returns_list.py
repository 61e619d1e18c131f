"""Failure kind: values come back as nested Python lists, not numpy arrays."""

from typing import Any

import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> Any:
    return [(inputs @ w).tolist() for w in (weights_q, weights_k, weights_v)]


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> Any:
    return Q.tolist()


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> Any:
    return inputs.tolist()
