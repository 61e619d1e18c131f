"""Hostile: returns objects that claim to equal anything and to have any shape."""

from typing import Any

import numpy as np


class Anything:
    """Pretends to be an array: equal to everything, every attribute plausible."""

    dtype = np.dtype("float64")
    shape = (2, 3, 4)
    ndim = 3

    def __eq__(self, other: object) -> bool:
        return True

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return np.zeros(self.shape)

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: True

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Any:
        return iter([self, self, self])


class Matrix(np.ndarray):
    """An ndarray subclass whose comparisons always succeed."""

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        return True


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> Any:
    return Anything()


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> Any:
    return Anything()


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> Any:
    return np.zeros(1).view(Matrix)
