"""Correct: a Python loop over the heads, column slices, np.concatenate; the alias name."""

import math

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project inputs (B, L, D) to queries, keys and values."""
    return (
        np.matmul(inputs, weights_q),
        np.matmul(inputs, weights_k),
        inputs @ weights_v,
    )


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """softmax(Q @ K^T * scale) @ V."""
    scores = np.matmul(Q, K.swapaxes(-2, -1)) * scale
    scores = scores - np.max(scores, axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / np.sum(weights, axis=-1, keepdims=True)
    output: np.ndarray = np.matmul(weights, V)
    return output


def multi_head_self_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """One head at a time over contiguous column blocks, then concatenated."""
    hidden_dim = inputs.shape[-1]
    if num_heads <= 0:
        raise ValueError("num_heads must be at least 1")
    if hidden_dim % num_heads:
        raise ValueError("hidden_dim must be divisible by num_heads")
    head_dim = hidden_dim // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    outputs = []
    for h in range(num_heads):
        cols = slice(h * head_dim, (h + 1) * head_dim)
        outputs.append(
            scaled_dot_product_attention(
                Q[..., cols], K[..., cols], V[..., cols], 1 / math.sqrt(head_dim)
            )
        )
    return np.concatenate(outputs, axis=-1)
