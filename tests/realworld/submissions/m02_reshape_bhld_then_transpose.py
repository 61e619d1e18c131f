import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    Q = np.einsum("bsd,de->bse", inputs, weights_q)
    K = np.einsum("bsd,de->bse", inputs, weights_k)
    V = np.einsum("bsd,de->bse", inputs, weights_v)
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    qk = np.matmul(Q, np.swapaxes(K, -1, -2)) * scale
    qk = np.exp(qk - np.max(qk, axis=-1, keepdims=True))
    qk = qk / np.sum(qk, axis=-1, keepdims=True)
    return np.matmul(qk, V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    b, wps, dm = inputs.shape  # batch, words per sentence, model dim
    if num_heads < 1 or dm % num_heads != 0:
        raise ValueError("model dim must be a multiple of the number of heads")
    dh = dm // num_heads
    qs, ks, vs = create_qkv(inputs, weights_q, weights_k, weights_v)
    # split heads: (b, wps, dm) -> (b, nh, wps, dh), then swap to (b, wps, nh, dh)
    qs = qs.reshape((b, num_heads, wps, dh)).transpose(0, 2, 1, 3)
    ks = ks.reshape((b, num_heads, wps, dh)).transpose(0, 2, 1, 3)
    vs = vs.reshape((b, num_heads, wps, dh)).transpose(0, 2, 1, 3)
    attn = scaled_dot_product_attention(qs, ks, vs, 1 / np.sqrt(dh))
    # concatenate the heads
    return attn.transpose(0, 2, 1, 3).reshape((b, num_heads, -1))
