"""The preflight's known-good submission: correct, typed and black-clean, so it must earn
every point; when it does not, the machine or the grader is at fault, not the students.

It is graded like any submission (confined child, temp folders, interpreter, mypy with the
students' settings, black), never imported by the grader, and typed as students type
(``np.ndarray``), so the kit's own strict mypy skips it. It lives in the kit's source,
which is closed to other users.
"""

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    logits = np.einsum("...qd,...kd->...qk", Q, K) * scale  # (..., Lq, Lk)
    logits = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    result: np.ndarray = np.einsum("...qk,...kv->...qv", weights, V)  # (..., Lq, dv)
    return result


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch, length, width = inputs.shape
    if num_heads < 1 or width % num_heads:
        raise ValueError(f"{num_heads} heads cannot split a width of {width}")
    size = width // num_heads
    q, k, v = (
        x.reshape(batch, length, num_heads, size).swapaxes(1, 2)  # (B, h, L, size)
        for x in create_qkv(inputs, weights_q, weights_k, weights_v)
    )
    attended = scaled_dot_product_attention(q, k, v, float(size) ** -0.5)
    merged: np.ndarray = attended.swapaxes(1, 2).reshape(batch, length, width)
    return merged
