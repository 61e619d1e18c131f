"""Attack: replace numpy's comparison functions so that anything "matches", then return junk.

Contained because the comparison happens in the grader's own process, with its own numpy.
"""

from typing import Any

import numpy as np
import numpy.testing


def _always_true(*args: Any, **kwargs: Any) -> Any:
    return True


def _silent(*args: Any, **kwargs: Any) -> None:
    return None


for _name in ("allclose", "isclose", "array_equal", "array_equiv", "isfinite", "all"):
    setattr(np, _name, _always_true)
for _name in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal"):
    setattr(numpy.testing, _name, _silent)


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    return np.zeros(1)
