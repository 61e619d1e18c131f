"""Attack: flood stdout and stderr (tens of megabytes) to exhaust the grader's memory or
bury the report.

Contained: the grader drains both streams in a thread, keeps the first 64 KiB and counts the
rest; feedback shows at most 2,000 characters, never parsed.
"""

import os
import sys

import numpy as np

CHUNK = "flood " * 100_000  # 600 kB

for _ in range(30):
    sys.stdout.write(CHUNK)
    sys.stderr.write(CHUNK)
os.write(1, b"\xff\xfe invalid utf-8 in the flood \x00\x1b[2J")


def check() -> None:
    sys.stdout.write(CHUNK)


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
