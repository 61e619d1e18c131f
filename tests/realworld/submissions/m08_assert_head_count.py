import math

import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    """Compute softmax values for each set of scores in x (stable version)."""
    e_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e_x / e_x.sum(axis=-1, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project the input embeddings to queries, keys and values."""
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    """softmax(Q K^T * scale) V over the last two axes."""
    scores = np.matmul(Q, np.swapaxes(K, -1, -2)) * scale
    return np.matmul(softmax(scores), V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Multi-head self-attention without output projection."""
    batch_size, seq_length, emb_size = inputs.shape
    # Ensure the embedding size is divisible by the number of heads
    assert emb_size % num_heads == 0, "emb_size must be divisible by num_heads."
    head_dim = emb_size // num_heads

    query, key, value = create_qkv(inputs, weights_q, weights_k, weights_v)

    def split_heads(x: np.ndarray) -> np.ndarray:
        x = np.reshape(x, (batch_size, seq_length, num_heads, head_dim))
        return np.transpose(x, (0, 2, 1, 3))

    attention = scaled_dot_product_attention(
        split_heads(query), split_heads(key), split_heads(value), 1 / math.sqrt(head_dim)
    )
    attention = np.transpose(attention, (0, 2, 1, 3))
    return np.reshape(attention, (batch_size, seq_length, emb_size))
