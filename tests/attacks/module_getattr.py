"""Attack: a module-level ``__getattr__`` that never returns, so the grader's lookup of the
optional alias ``multi_head_self_attention`` hangs.

Contained by the import deadline: reported as an import that did not finish.
"""

from typing import Any

import numpy as np


def __getattr__(name: str) -> Any:
    while True:
        pass


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
