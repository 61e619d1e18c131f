# Multi-head self-attention, every contraction written as an einsum.
# b = batch, l/m = query/key positions, h = head, d = feature
import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = np.einsum("bld,de->ble", inputs, weights_q)
    k = np.einsum("bld,de->ble", inputs, weights_k)
    v = np.einsum("bld,de->ble", inputs, weights_v)
    return q, k, v


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    logits = np.einsum("...ld,...md->...lm", Q, K) * scale
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    probs = probs / probs.sum(axis=-1, keepdims=True)
    return np.einsum("...lm,...md->...ld", probs, V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    b, l, d_model = inputs.shape
    if num_heads < 1 or d_model % num_heads:
        raise ValueError(f"num_heads={num_heads} does not divide d_model={d_model}")
    d_head = d_model // num_heads

    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)
    q = q.reshape(b, l, num_heads, d_head)
    k = k.reshape(b, l, num_heads, d_head)
    v = v.reshape(b, l, num_heads, d_head)

    # heads in front of the positions: (b, h, l, d)
    qh = np.einsum("blhd->bhld", q)
    kh = np.einsum("blhd->bhld", k)
    vh = np.einsum("blhd->bhld", v)

    out = scaled_dot_product_attention(qh, kh, vh, d_head**-0.5)
    return np.einsum("bhld->blhd", out).reshape(b, l, d_model)
