import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - np.max(x, axis=axis, keepdims=True)
    ex = np.exp(x)
    return ex / np.sum(ex, axis=axis, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.einsum("bsd,dk->bsk", inputs, weights_q),
        np.einsum("bsd,dk->bsk", inputs, weights_k),
        np.einsum("bsd,dk->bsk", inputs, weights_v),
    )


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    scores = np.einsum("...qd,...kd->...qk", Q, K) * scale
    return np.einsum("...qk,...kd->...qd", softmax(scores), V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    B, S, D = inputs.shape
    if num_heads < 1 or D % num_heads:
        raise ValueError("num_heads must divide the embedding size")
    hd = D // num_heads
    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)
    # keep the (B, S, h, hd) layout and let einsum do the head bookkeeping
    q = q.reshape(B, S, num_heads, hd)
    k = k.reshape(B, S, num_heads, hd)
    v = v.reshape(B, S, num_heads, hd)
    scores = np.einsum("bshm,bthm->bhst", q, k) / np.sqrt(hd)
    weights = softmax(scores, axis=-1)  # (B, h, S, S)
    out = np.einsum("bhss,bshm->bshm", weights, v)  # (B, S, h, hd)
    return out.reshape(B, S, D)
