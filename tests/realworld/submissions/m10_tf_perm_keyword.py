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
) -> np.ndarray:
    matmul_qk = np.matmul(Q, np.swapaxes(K, -1, -2))  # (..., seq_len_q, seq_len_k)
    scaled_attention_logits = matmul_qk * scale
    attention_weights = softmax(scaled_attention_logits, axis=-1)
    return np.matmul(attention_weights, V)  # (..., seq_len_q, depth_v)


def split_heads(x: np.ndarray, num_heads: int, depth: int) -> np.ndarray:
    """Split the last dimension into (num_heads, depth).
    Transpose the result such that the shape is (batch_size, num_heads, seq_len, depth)
    """
    x = np.reshape(x, (x.shape[0], -1, num_heads, depth))
    return np.transpose(x, perm=[0, 2, 1, 3])


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
    depth = d_model // num_heads
    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)
    q = split_heads(q, num_heads, depth)  # (batch_size, num_heads, seq_len_q, depth)
    k = split_heads(k, num_heads, depth)  # (batch_size, num_heads, seq_len_k, depth)
    v = split_heads(v, num_heads, depth)  # (batch_size, num_heads, seq_len_v, depth)
    scaled_attention = scaled_dot_product_attention(q, k, v, 1 / np.sqrt(depth))
    scaled_attention = np.transpose(scaled_attention, (0, 2, 1, 3))
    return np.reshape(scaled_attention, (batch_size, -1, d_model))
