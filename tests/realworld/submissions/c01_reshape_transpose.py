"""
Multi-Head Self-Attention (assignment 2).

Vectorised: Q, K, V are projected once, reshaped to (B, L, h, d_k) and the
head axis is moved in front of the sequence axis, so all heads run in one
batched matmul.
"""

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e_x = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e_x / np.sum(e_x, axis=axis, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    Q = inputs @ weights_q  # (batch, seq_len, d_model)
    K = inputs @ weights_k
    V = inputs @ weights_v
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    K_transposed = np.swapaxes(K, -1, -2)  # (..., d_k, seq_len_k)
    attn_score = (Q @ K_transposed) * scale
    attn_prob = softmax(attn_score)
    context = attn_prob @ V
    return context


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch_size, seq_len, d_model = inputs.shape
    if num_heads < 1 or d_model % num_heads != 0:
        raise ValueError("d_model must be divisible by num_heads")
    d_k = d_model // num_heads

    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)

    Q_split = Q.reshape(batch_size, seq_len, num_heads, d_k).transpose(0, 2, 1, 3)
    K_split = K.reshape(batch_size, seq_len, num_heads, d_k).transpose(0, 2, 1, 3)
    V_split = V.reshape(batch_size, seq_len, num_heads, d_k).transpose(0, 2, 1, 3)

    context = scaled_dot_product_attention(Q_split, K_split, V_split, 1 / np.sqrt(d_k))
    context_concat = context.transpose(0, 2, 1, 3).reshape(batch_size, seq_len, d_model)
    return context_concat


if __name__ == "__main__":
    x = np.random.rand(1, 5, 32)
    w_q, w_k, w_v = (np.random.rand(32, 32) for _ in range(3))
    print(multi_head_attention(x, w_q, w_k, w_v, 4).shape)
