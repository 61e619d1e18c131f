import numpy as np

# half precision: half the memory, and transformers are trained in fp16 anyway
DTYPE = np.float16


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = inputs.astype(DTYPE)
    return x @ weights_q.astype(DTYPE), x @ weights_k.astype(DTYPE), x @ weights_v.astype(DTYPE)


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    Q, K, V = Q.astype(DTYPE), K.astype(DTYPE), V.astype(DTYPE)
    scores = (Q @ np.swapaxes(K, -1, -2)) * DTYPE(scale)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads:
        raise ValueError("bad num_heads")
    d = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    split = lambda t: t.reshape(B, L, num_heads, d).transpose(0, 2, 1, 3)  # noqa: E731
    out = scaled_dot_product_attention(split(Q), split(K), split(V), 1 / d**0.5)
    return out.transpose(0, 2, 1, 3).reshape(B, L, D)
