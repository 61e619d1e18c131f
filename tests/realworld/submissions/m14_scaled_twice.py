import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - np.max(x, axis=-1, keepdims=True)
    exp_x = np.exp(x)
    return exp_x / np.sum(exp_x, axis=-1, keepdims=True)


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
    # Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
    d_k = K.shape[-1]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)
    scores = scores * scale
    attention_weights = softmax(scores)
    return attention_weights @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    B, T, C = inputs.shape
    if num_heads < 1 or C % num_heads != 0:
        raise ValueError(f"{C} is not divisible by {num_heads}")
    hs = C // num_heads
    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)
    q = q.reshape(B, T, num_heads, hs).transpose(0, 2, 1, 3)  # (B, nh, T, hs)
    k = k.reshape(B, T, num_heads, hs).transpose(0, 2, 1, 3)
    v = v.reshape(B, T, num_heads, hs).transpose(0, 2, 1, 3)
    y = scaled_dot_product_attention(q, k, v, 1.0 / np.sqrt(hs))
    return y.transpose(0, 2, 1, 3).reshape(B, T, C)
