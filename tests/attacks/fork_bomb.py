"""Attack: fork until the kernel refuses, every process sleeping forever.

Contained: RLIMIT_NPROC caps the count for the sandbox uid; the PID namespace (or the uid
sweep) kills them all; other submissions, graded in parallel, are unaffected.
"""

import os
import time

import numpy as np

_children = 0
while _children < 1000:
    try:
        if os.fork() == 0:
            while True:
                time.sleep(1)
        _children += 1
    except OSError:
        break
print("forked", _children)


def check() -> None:
    return None


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
