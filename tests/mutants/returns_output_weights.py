"""Mutant of correct/vectorised.py: attention returns (output, weights), as PyTorch's layers do; multi-head unpacks it."""

import math

import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by each row's maximum."""
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    result: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return result


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project inputs (B, L, D) to queries, keys and values, each (B, L, D)."""
    Q = inputs @ weights_q
    K = inputs @ weights_k
    V = inputs @ weights_v
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """softmax(Q @ K^T * scale) @ V for any number of leading axes."""
    scores = Q @ np.swapaxes(K, -1, -2) * scale
    weights = softmax(scores)
    output: np.ndarray = weights @ V
    return output, weights


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Split Q, K, V into heads, attend per head, concatenate the heads: (B, L, D)."""
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError("num_heads must be positive and divide D")
    head_dim = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)

    def split(x: np.ndarray) -> np.ndarray:
        return x.reshape(B, L, num_heads, head_dim).swapaxes(1, 2)

    heads, _ = scaled_dot_product_attention(
        split(Q), split(K), split(V), 1.0 / math.sqrt(head_dim)
    )
    output: np.ndarray = heads.swapaxes(1, 2).reshape(B, L, D)
    return output
