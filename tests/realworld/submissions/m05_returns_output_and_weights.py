import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e_x = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e_x / e_x.sum(axis=axis, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.dot(inputs, weights_q), np.dot(inputs, weights_k), np.dot(inputs, weights_v)


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """
    Calculate the attention weights.
    query, key, value must have matching leading dimensions.
    Returns the output and the attention weights (useful for plotting).
    """
    matmul_qk = np.matmul(Q, np.swapaxes(K, -1, -2))
    logits = matmul_qk * scale
    attention_weights = softmax(logits, axis=-1)
    output = np.matmul(attention_weights, V)
    return output, attention_weights


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch_size, seq_len, embedding_size = inputs.shape
    if num_heads < 1 or embedding_size % num_heads != 0:
        raise ValueError("Embedding size must be divisible by number of heads.")
    depth = embedding_size // num_heads
    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)

    def split_into_heads(x: np.ndarray) -> np.ndarray:
        x = x.reshape(batch_size, seq_len, num_heads, depth)
        return x.transpose(0, 2, 1, 3)

    attention, _ = scaled_dot_product_attention(
        split_into_heads(q), split_into_heads(k), split_into_heads(v), 1 / np.sqrt(depth)
    )
    return attention.transpose(0, 2, 1, 3).reshape(batch_size, seq_len, embedding_size)
