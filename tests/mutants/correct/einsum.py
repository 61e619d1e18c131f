"""Correct: every product written with np.einsum, heads split with einsum too."""

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project inputs (B, L, D) to queries, keys and values."""
    Q = np.einsum("bld,de->ble", inputs, weights_q)
    K = np.einsum("bld,de->ble", inputs, weights_k)
    V = np.einsum("bld,de->ble", inputs, weights_v)
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """softmax(Q @ K^T * scale) @ V for any leading axes."""
    scores = np.einsum("...qd,...kd->...qk", Q, K) * scale
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    output: np.ndarray = np.einsum("...qk,...kv->...qv", weights, V)
    return output


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Heads as an einsum axis: (B, L, h, hd) -> (B, h, L, hd) and back."""
    batch, length, dim = inputs.shape
    if num_heads < 1 or dim % num_heads:
        raise ValueError(f"{num_heads} heads do not divide {dim}")
    head_dim = dim // num_heads
    q, k, v = (
        np.einsum("blhd->bhld", x.reshape(batch, length, num_heads, head_dim))
        for x in create_qkv(inputs, weights_q, weights_k, weights_v)
    )
    heads = scaled_dot_product_attention(q, k, v, float(head_dim) ** -0.5)
    output: np.ndarray = np.einsum("bhld->blhd", heads).reshape(batch, length, dim)
    return output
