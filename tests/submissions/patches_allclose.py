"""Hostile: makes every numpy comparison say "equal" and returns zeros."""

import numpy as np
import numpy.testing

np.allclose = lambda *args, **kwargs: True  # type: ignore[assignment]
np.isclose = lambda *args, **kwargs: np.bool_(True)  # type: ignore[assignment]
np.array_equal = lambda *args, **kwargs: True  # type: ignore[assignment]
numpy.testing.assert_allclose = lambda *args, **kwargs: None  # type: ignore[assignment]


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    zeros = np.zeros(inputs.shape)
    return zeros, zeros, zeros


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    return np.zeros(Q.shape[:-1] + V.shape[-1:])


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    return np.zeros(inputs.shape)
