"""Failure kind: right shapes, but the values are NaN and inf."""

import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = np.full((*inputs.shape[:-1], weights_q.shape[1]), np.nan)
    return q, q, q


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    return np.full((*Q.shape[:-1], V.shape[-1]), np.inf)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    if num_heads < 1 or inputs.shape[-1] % num_heads:
        raise ValueError("num_heads must divide D")
    return np.full(inputs.shape, np.nan)
