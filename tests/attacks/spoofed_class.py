"""Attack: objects that pretend to be arrays, down to ``__class__`` (so that
``isinstance(x, np.ndarray)`` is True), ``__array_interface__``, ``dtype``, ``shape`` and an
``__eq__`` that always agrees.

Contained because only raw bytes of a real ndarray cross the pipe: the child views every
value through ``np.ndarray.view``, which refuses impostors.
"""

from typing import Any

import numpy as np


class Impostor:
    """Claims every property of the expected array."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.dtype = np.dtype("float64")
        self.ndim = len(shape)
        self.size = int(np.prod(shape))
        self.nbytes = self.size * 8
        self.__array_interface__ = {
            "shape": shape,
            "typestr": "<f8",
            "data": (0, True),
            "version": 3,
        }

    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        return np.ndarray

    def __eq__(self, other: object) -> bool:
        return True

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return np.zeros(self.shape)

    def tobytes(self) -> bytes:
        return b"\0" * self.nbytes


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> Any:
    shape = (*inputs.shape[:-1], weights_q.shape[1])
    return Impostor(shape), Impostor(shape), Impostor(shape)


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> Any:
    return Impostor((*Q.shape[:-1], V.shape[-1]))


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> Any:
    return Impostor(inputs.shape)
