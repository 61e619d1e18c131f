"""Correct: np.split into heads, np.stack, and np.concatenate to merge."""

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project inputs (B, L, D) to queries, keys and values."""
    Q, K, V = (inputs @ w for w in (weights_q, weights_k, weights_v))
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """softmax(Q @ K^T * scale) @ V."""
    axes = list(range(K.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    scores = scale * (Q @ np.transpose(K, axes))
    exps = np.exp(scores - np.amax(scores, axis=-1, keepdims=True))
    output: np.ndarray = (exps / exps.sum(axis=-1, keepdims=True)) @ V
    return output


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """np.split the columns into heads, stack them on axis 1, concatenate the results."""
    dim = inputs.shape[2]
    if num_heads < 1 or dim % num_heads != 0:
        raise ValueError("bad number of heads")
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    q = np.stack(np.split(Q, num_heads, axis=-1), axis=1)  # (B, h, L, hd)
    k = np.stack(np.split(K, num_heads, axis=-1), axis=1)
    v = np.stack(np.split(V, num_heads, axis=-1), axis=1)
    heads = scaled_dot_product_attention(
        q, k, v, 1.0 / np.sqrt(dim // num_heads).item()
    )
    return np.concatenate([heads[:, h] for h in range(num_heads)], axis=-1)
