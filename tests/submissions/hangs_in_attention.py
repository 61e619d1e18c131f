"""scaled_dot_product_attention never returns; the other two functions are correct and
do not call it, so they must keep their points."""

import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    while True:
        pass


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch, length, dim = inputs.shape
    if num_heads < 1 or dim % num_heads:
        raise ValueError("num_heads must divide D")
    hd = dim // num_heads
    q, k, v = (
        (inputs @ w).reshape(batch, length, num_heads, hd).transpose(0, 2, 1, 3)
        for w in (weights_q, weights_k, weights_v)
    )
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = scores / scores.sum(axis=-1, keepdims=True)
    out: np.ndarray = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, dim)
    return out
