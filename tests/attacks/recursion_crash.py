"""Attack: lift the recursion limit and recurse through C code (``map``), so the C stack
overflows and the process dies of SIGSEGV (Python 3.10/3.11; newer versions raise
RecursionError anyway).

Contained: the crash ends only the child; the grader reports a segmentation fault (or a
recursion error), restarts the child once and stops calling the function.
"""

import sys

import numpy as np

sys.setrecursionlimit(10**8)


def check() -> None:
    list(map(lambda _: check(), [0]))


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
