"""Attack: ignore every catchable signal (SIGTERM, SIGINT, SIGHUP, ...), start a helper that
does the same, then hang inside the functions.

Contained: the grader only ever sends SIGKILL, from outside the child's PID namespace, so
neither the child nor its helper can refuse it.
"""

import signal
import subprocess
import sys

import numpy as np

for _sig in signal.Signals:
    try:
        signal.signal(_sig, signal.SIG_IGN)
    except (OSError, RuntimeError, ValueError):
        pass
subprocess.Popen(
    [
        sys.executable,
        "-c",
        "import signal, time\n"
        "for s in (1, 2, 15): signal.signal(s, signal.SIG_IGN)\n"
        "while True: time.sleep(0.2)",
        "MHSA_MARKER",
    ],
    stdin=subprocess.DEVNULL,
)


def check() -> None:
    return None


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    while True:
        pass
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
