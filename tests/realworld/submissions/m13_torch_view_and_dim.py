import math

import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    """Numerically stable softmax using the exp normalization trick."""
    maxes = x.max(dim=-1, keepdim=True)
    x_exp = np.exp(x - maxes)
    return x_exp / x_exp.sum(dim=-1, keepdim=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    queries = np.matmul(inputs, weights_q)
    keys = np.matmul(inputs, weights_k)
    values = np.matmul(inputs, weights_v)
    return queries, keys, values


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    attention_scores = np.matmul(Q, np.swapaxes(K, -1, -2)) * scale
    attention_weights = softmax(attention_scores)
    return np.matmul(attention_weights, V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch_size, seq_len, hidden_size = inputs.shape
    if num_heads < 1 or hidden_size % num_heads != 0:
        raise ValueError("hidden_size must be divisible by num_heads")
    head_size = hidden_size // num_heads

    def transpose_for_scores(x: np.ndarray) -> np.ndarray:
        x = x.view(batch_size, seq_len, num_heads, head_size)
        return x.transpose(0, 2, 1, 3)

    queries, keys, values = create_qkv(inputs, weights_q, weights_k, weights_v)
    outputs = scaled_dot_product_attention(
        transpose_for_scores(queries),
        transpose_for_scores(keys),
        transpose_for_scores(values),
        1 / math.sqrt(head_size),
    )
    outputs = outputs.transpose(0, 2, 1, 3)
    return outputs.reshape(batch_size, seq_len, hidden_size)
