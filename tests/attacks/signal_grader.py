"""Attack: kill the grader: SIGKILL to the parent, to the process group, to pid 1 and to
every process it may signal (``kill(-1)``), at import and in every call.

Contained: in the jail its parent is outside its PID namespace (``getppid()`` is 0) and
``kill(-1)`` reaches only its own namespace; under a dropped uid it may signal only its own
processes. Correct submissions graded in the same worker right after still score 10.
"""

import os
import signal

import numpy as np


def check() -> None:
    for target in (os.getppid(), 1):
        if target > 0 and target != os.getpid():
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
    for group in (os.getpgrp(), os.getsid(0)):
        if group > 1 and group != os.getpid():
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass
    if os.fork() == 0:  # a helper that is not pid 1 of anything
        try:
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.wait()


check()


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
