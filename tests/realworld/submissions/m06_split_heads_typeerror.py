import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    x_max = np.max(x, axis=-1, keepdims=True)
    exps = np.exp(x - x_max)
    return exps / np.sum(exps, axis=-1, keepdims=True)


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
    scores = Q @ np.swapaxes(K, -2, -1) * scale
    return softmax(scores) @ V


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(batch, seq, d_model) -> (batch, num_heads, seq, d_model / num_heads)"""
    batch, seq, d_model = x.shape
    d_head = d_model / num_heads
    return x.reshape(batch, seq, num_heads, d_head).transpose(0, 2, 1, 3)


def combine_heads(x: np.ndarray) -> np.ndarray:
    """(batch, num_heads, seq, d_head) -> (batch, seq, num_heads * d_head)"""
    batch, num_heads, seq, d_head = x.shape
    return x.transpose(0, 2, 1, 3).reshape(batch, seq, num_heads * d_head)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    d_model = inputs.shape[-1]
    if num_heads < 1 or d_model % num_heads != 0:
        raise ValueError("d_model must be divisible by num_heads")
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    heads = scaled_dot_product_attention(
        split_heads(Q, num_heads),
        split_heads(K, num_heads),
        split_heads(V, num_heads),
        1.0 / np.sqrt(d_model // num_heads),
    )
    return combine_heads(heads)
