"""Attack: end the process abruptly (``os._exit(0)``) from inside every function.

Contained: the grader sees its pipe close, reports the exit, restarts the child once, and
stops calling a function that crashed twice.
"""

import os

import numpy as np


def check() -> None:
    os._exit(0)


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
