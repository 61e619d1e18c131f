import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    Q = inputs @ weights_q
    K = inputs @ weights_k
    V = inputs @ weights_v
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    scores = Q @ np.swapaxes(K, -1, -2) * scale
    return softmax(scores) @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    B, L, D = inputs.shape
    head_dim = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    Q = Q.reshape(B, L, num_heads, head_dim).transpose(0, 2, 1, 3)
    K = K.reshape(B, L, num_heads, head_dim).transpose(0, 2, 1, 3)
    V = V.reshape(B, L, num_heads, head_dim).transpose(0, 2, 1, 3)
    out = scaled_dot_product_attention(Q, K, V, 1 / np.sqrt(head_dim))
    return out.transpose(0, 2, 1, 3).reshape(B, L, D)
