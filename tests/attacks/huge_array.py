"""Attack: return enormous arrays: a broadcast view claiming 8 TB, a real 72 MB array, and
an array of 2**31 elements, to exhaust the grader's memory or its pipe.

Contained: the grader sends its size bound with each request; the child sends only the
shape of anything larger; the grader refuses any buffer beyond the bound unread.
"""

import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    huge = np.broadcast_to(np.zeros(1), (10**6, 10**6))
    return huge, huge, huge


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    return np.ones((3000, 3000))


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    return np.broadcast_to(np.zeros(1), (2**31,))
