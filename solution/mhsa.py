"""Reference Multi-Head Self-Attention in NumPy: the kit's ground truth for every fixture.

Conventions are SPEC's: row vectors (``Q = inputs @ W_q``), ``scale`` multiplies the scores,
softmax over the last axis, head ``h`` owns the contiguous columns ``h*hd:(h+1)*hd``, head
outputs are concatenated in head order, no output projection, bias or mask. Shapes use the
paper's names: B batch, L sequence length, D model width, h heads, hd = D // h head width.
"""

import math

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]
"""A floating-point array of any shape (float64 in the fixtures, float32 preserved)."""


def create_qkv(
    inputs: Array, weights_q: Array, weights_k: Array, weights_v: Array
) -> tuple[Array, Array, Array]:
    """Project ``inputs`` (B, L, D) to queries, keys and values, each (B, L, D)."""
    Q = inputs @ weights_q  # (B, L, D)
    K = inputs @ weights_k  # (B, L, D)
    V = inputs @ weights_v  # (B, L, D)
    return Q, K, V


def scaled_dot_product_attention(Q: Array, K: Array, V: Array, scale: float) -> Array:
    """Return ``softmax(Q @ K^T * scale, axis=-1) @ V`` for any leading batch axes.

    Q is (..., Lq, dk), K (..., Lk, dk), V (..., Lk, dv); the result is (..., Lq, dv). The
    softmax subtracts each row's maximum first, so scores in the thousands stay finite.
    """
    batch = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2])  # the "..."
    Q, K, V = (np.broadcast_to(a, batch + a.shape[-2:]) for a in (Q, K, V))  # views
    # A weak Python float keeps float32 data float32 (NEP 50); integers become float64.
    out = np.empty(batch + (Q.shape[-2], V.shape[-1]), np.result_type(Q, K, V, 1.0))
    # One (Lq, Lk) score matrix at a time: it stays in cache through the softmax's passes,
    # which would otherwise stream all B*h of them through memory five times.
    for index in np.ndindex(*batch):
        scores = (Q[index] * float(scale)) @ K[index].T  # (Lq, Lk), scale folded into Q
        # Softmax in place on the fresh scores buffer: no argument is touched.
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        np.matmul(scores, V[index], out=out[index])  # (Lq, dv)
    return out


def multi_head_attention(
    inputs: Array, weights_q: Array, weights_k: Array, weights_v: Array, num_heads: int
) -> Array:
    """Multi-head self-attention of ``inputs`` (B, L, D) with ``num_heads`` heads -> (B, L, D).

    Raises ValueError unless ``num_heads >= 1`` divides D.
    """
    B, L, D = inputs.shape
    if num_heads < 1:
        raise ValueError(f"num_heads must be at least 1, got {num_heads}")
    if D % num_heads != 0:
        raise ValueError(f"num_heads ({num_heads}) must divide the model width D ({D})")
    hd = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)  # (B, L, D) each
    # Split heads: head h owns the columns h*hd:(h+1)*hd.
    q = Q.reshape(B, L, num_heads, hd).swapaxes(1, 2)  # (B, h, L, hd)
    k = K.reshape(B, L, num_heads, hd).swapaxes(1, 2)  # (B, h, L, hd)
    v = V.reshape(B, L, num_heads, hd).swapaxes(1, 2)  # (B, h, L, hd)
    y = scaled_dot_product_attention(q, k, v, 1.0 / math.sqrt(hd))  # (B, h, L, hd)
    # Merge heads: the inverse idiom concatenates head outputs in head order.
    return y.swapaxes(1, 2).reshape(B, L, D)  # (B, L, D)
