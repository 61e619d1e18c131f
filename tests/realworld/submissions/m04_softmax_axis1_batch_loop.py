import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - np.max(z, axis=1, keepdims=True)
    t = np.exp(z)
    return t / np.expand_dims(np.sum(t, axis=1), 1)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    query = inputs @ weights_q
    key = inputs @ weights_k
    value = inputs @ weights_v
    return query, key, value


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    out = np.zeros(Q.shape[:-1] + (V.shape[-1],))
    # one batch element at a time: score = query @ key.T, then softmax per row
    for i in range(Q.shape[0]):
        score = Q[i] @ np.swapaxes(K[i], -1, -2) * scale
        score = softmax(score)
        out[i] = score @ V[i]
    return out


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError("D must be divisible by num_heads")
    hd = D // num_heads
    query, key, value = create_qkv(inputs, weights_q, weights_k, weights_v)
    query = query.reshape(B, L, num_heads, hd).transpose(0, 2, 1, 3)
    key = key.reshape(B, L, num_heads, hd).transpose(0, 2, 1, 3)
    value = value.reshape(B, L, num_heads, hd).transpose(0, 2, 1, 3)
    out = scaled_dot_product_attention(query, key, value, 1 / np.sqrt(hd))
    return out.transpose(0, 2, 1, 3).reshape(B, L, D)
