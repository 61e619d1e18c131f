"""Attack: an ndarray subclass whose ``shape``, ``dtype``, ``nbytes``, ``tobytes`` and
``__eq__`` lie about a one-element array of zeros.

Contained because the child describes and serialises the plain ndarray underneath
(``np.ndarray.view``), so the grader sees the real shape (1,).
"""

from typing import Any

import numpy as np


class Liar(np.ndarray):
    """Says it has whatever shape was asked for."""

    claimed: tuple[int, ...] = ()

    @property  # type: ignore[override]
    def shape(self) -> tuple[int, ...]:
        return self.claimed

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        return True

    def tobytes(self, order: Any = "C") -> bytes:
        return b"\0" * (8 * int(np.prod(self.claimed)))


def _liar(shape: tuple[int, ...]) -> Any:
    value = np.zeros(1).view(Liar)
    value.claimed = shape
    return value


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> Any:
    shape = (*inputs.shape[:-1], weights_q.shape[1])
    return _liar(shape), _liar(shape), _liar(shape)


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> Any:
    return _liar((*Q.shape[:-1], V.shape[-1]))


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> Any:
    return _liar(inputs.shape)
