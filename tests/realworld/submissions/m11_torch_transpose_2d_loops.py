import math

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    scores = Q @ K.transpose(-1, -2) * scale
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch_size, seq_len, hidden = inputs.shape
    if num_heads < 1 or hidden % num_heads != 0:
        raise ValueError("hidden size must be divisible by num_heads")
    head_size = hidden // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    output = np.zeros_like(Q)
    # one sentence and one head at a time, like in the lecture slides
    for b in range(batch_size):
        for h in range(num_heads):
            cols = slice(h * head_size, (h + 1) * head_size)
            output[b, :, cols] = scaled_dot_product_attention(
                Q[b, :, cols], K[b, :, cols], V[b, :, cols], 1 / math.sqrt(head_size)
            )
    return output
