"""Correct: the scale folded into Q before the product (multi-head passes scale 1)."""

import math

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project inputs (B, L, D) to queries, keys and values."""
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """softmax((Q * scale) @ K^T) @ V: scaling Q is the same as scaling the scores."""
    scores = (Q * scale) @ np.swapaxes(K, -1, -2)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    output: np.ndarray = scores / scores.sum(-1, keepdims=True) @ V
    return output


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Scale the queries once, then attend with scale 1."""
    B, L, D = inputs.shape
    if not 1 <= num_heads <= D or D % num_heads:
        raise ValueError("num_heads must divide D")
    hd = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    Q = Q / math.sqrt(hd)
    q, k, v = (x.reshape(B, L, num_heads, hd).transpose(0, 2, 1, 3) for x in (Q, K, V))
    y = scaled_dot_product_attention(q, k, v, 1.0)
    return y.transpose(0, 2, 1, 3).reshape(B, L, D)
