"""Failure kind: correct Q, K, V, but the inputs are scaled in place first (and back)."""

import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q, k, v = inputs @ weights_q, inputs @ weights_k, inputs @ weights_v
    inputs *= 2.0
    return q, k, v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    return np.zeros(1)
