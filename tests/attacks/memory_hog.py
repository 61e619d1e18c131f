"""Attack: allocate memory until something breaks.

Contained by RLIMIT_AS: the allocation fails with MemoryError inside the child, which the
grader reports as running out of memory; the grader's own memory is untouched.
"""

import numpy as np

HOG: list[np.ndarray] = []


def check() -> None:
    HOG.append(np.ones(1 << 22))  # 32 MiB really touched, then reserve until refused
    while True:
        HOG.append(np.zeros(1 << 24))


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    check()
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    check()
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    check()
    return np.zeros(1)
