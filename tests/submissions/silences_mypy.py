"""Correct, annotated, but hides a type error behind ignore comments: no typing point."""

# mypy: ignore-errors
import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    label: int = "not an int"  # type: ignore
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    scores = Q @ np.swapaxes(K, -1, -2) * scale
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    out: np.ndarray = scores / scores.sum(axis=-1, keepdims=True) @ V
    return out


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
        x.reshape(batch, length, num_heads, hd).swapaxes(1, 2)
        for x in create_qkv(inputs, weights_q, weights_k, weights_v)
    )
    heads = scaled_dot_product_attention(q, k, v, 1 / np.sqrt(hd))
    out: np.ndarray = heads.swapaxes(1, 2).reshape(batch, length, dim)
    return out
