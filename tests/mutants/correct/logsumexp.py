"""Correct: softmax through log-sum-exp, exp(x - logsumexp(x))."""

import math

import numpy as np


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, via a stabilised log-sum-exp."""
    m = np.max(x, axis=-1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))
    result: np.ndarray = x - lse
    return result


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project inputs (B, L, D) to queries, keys and values."""
    return inputs.dot(weights_q), inputs.dot(weights_k), inputs.dot(weights_v)


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """exp(log_softmax(scores)) @ V."""
    weights = np.exp(log_softmax(np.matmul(Q, np.swapaxes(K, -1, -2)) * scale))
    output: np.ndarray = np.matmul(weights, V)
    return output


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Vectorised over heads with moveaxis."""
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads:
        raise ValueError("num_heads must be >= 1 and divide D")
    hd = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    q, k, v = (np.moveaxis(x.reshape(B, L, num_heads, hd), 2, 1) for x in (Q, K, V))
    y = scaled_dot_product_attention(q, k, v, 1 / math.sqrt(hd))
    output: np.ndarray = np.moveaxis(y, 1, 2).reshape(B, L, D)
    return output
