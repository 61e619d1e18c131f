"""Multi-head self-attention in single precision.

All arrays are converted to DTYPE once, where they enter a function, and every
constant is created in DTYPE as well, so nothing silently promotes back to
float64 (a numpy float64 scalar times a float32 array gives float64 in NumPy 2).
"""

import numpy as np

DTYPE = np.float32


def _as_dtype(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=DTYPE)


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _as_dtype(inputs)
    return (
        np.matmul(x, _as_dtype(weights_q)),
        np.matmul(x, _as_dtype(weights_k)),
        np.matmul(x, _as_dtype(weights_v)),
    )


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    q, k, v = _as_dtype(Q), _as_dtype(K), _as_dtype(V)
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) * DTYPE(scale)
    return np.matmul(_softmax(scores), v)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch, seq, dim = inputs.shape
    if num_heads < 1:
        raise ValueError(f"num_heads must be positive, got {num_heads}")
    if dim % num_heads:
        raise ValueError(f"hidden size {dim} is not divisible by {num_heads} heads")
    head_dim = dim // num_heads

    def split(x: np.ndarray) -> np.ndarray:
        return x.reshape(batch, seq, num_heads, head_dim).swapaxes(1, 2)

    q, k, v = (split(t) for t in create_qkv(inputs, weights_q, weights_k, weights_v))
    heads = scaled_dot_product_attention(q, k, v, 1.0 / head_dim**0.5)
    return heads.swapaxes(1, 2).reshape(batch, seq, dim)
