import numpy as np

# float32 is what every GPU framework uses, so I compute in float32 too.


def softmax_2d(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=-1, keepdims=True)
    exps = np.exp(x - m)
    return exps / np.sum(exps, axis=-1, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = inputs.astype(np.float32)
    Q = x @ weights_q.astype(np.float32)
    K = x @ weights_k.astype(np.float32)
    V = x @ weights_v.astype(np.float32)
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    Q = Q.astype(np.float32)
    K = K.astype(np.float32)
    V = V.astype(np.float32)
    s = np.float32(scale)
    scores = (Q @ np.swapaxes(K, -1, -2)) * s
    weights = softmax_2d(scores)
    return weights @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError("num_heads must be >= 1 and divide the hidden size")
    d = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    q = Q.reshape(B, L, num_heads, d).transpose(0, 2, 1, 3)
    k = K.reshape(B, L, num_heads, d).transpose(0, 2, 1, 3)
    v = V.reshape(B, L, num_heads, d).transpose(0, 2, 1, 3)
    out = scaled_dot_product_attention(q, k, v, 1.0 / float(np.sqrt(d)))
    return out.transpose(0, 2, 1, 3).reshape(B, L, D)
