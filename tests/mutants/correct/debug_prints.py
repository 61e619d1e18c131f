"""Correct, with debug prints left in and explicit loops over batch and heads."""

import math

import numpy as np

print("loading my attention")


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project inputs (B, L, D) to queries, keys and values."""
    print("create_qkv", inputs.shape)
    Q = np.matmul(inputs, weights_q)
    K = np.matmul(inputs, weights_k)
    V = np.matmul(inputs, weights_v)
    print("Q", Q.shape, "K", K.shape, "V", V.shape)
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """softmax(Q @ K^T * scale) @ V."""
    print("attention", Q.shape, K.shape, V.shape, scale)
    scores = np.matmul(Q, np.swapaxes(K, -1, -2)) * scale
    print("scores", scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    print("row sums", weights.sum(axis=-1))
    output: np.ndarray = np.matmul(weights, V)
    return output


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Loops over every batch element and every head."""
    batch_size, seq_len, hidden_dim = inputs.shape
    print("mha", inputs.shape, num_heads)
    if num_heads < 1 or hidden_dim % num_heads != 0:
        print("bad head count")
        raise ValueError("invalid num_heads")
    head_dim = hidden_dim // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    output = np.zeros((batch_size, seq_len, hidden_dim))
    for b in range(batch_size):
        for h in range(num_heads):
            cols = slice(h * head_dim, (h + 1) * head_dim)
            output[b, :, cols] = scaled_dot_product_attention(
                Q[b, :, cols], K[b, :, cols], V[b, :, cols], 1.0 / math.sqrt(head_dim)
            )
    print("output", output.shape)
    return output
