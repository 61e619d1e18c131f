"""Attack: one function sleeps forever with every signal blocked; the other two are
correct and do not call it.

Contained by the per-call deadline: the hung function fails its cases (it hangs once, then
is not called again) and the correct ones keep their points.
"""

import signal
import time

import numpy as np


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    scores = Q @ np.swapaxes(K, -1, -2) * scale
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = scores / scores.sum(axis=-1, keepdims=True)
    out: np.ndarray = weights @ V
    return out


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL})
    while True:
        time.sleep(1000)
