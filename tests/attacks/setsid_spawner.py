"""Attack: start processes that leave the session (``setsid``), ignore SIGTERM and SIGHUP,
fork again and live forever, in the hope of outliving the grade.

Contained by the PID namespace (killing its first process kills all of them) or, without
namespaces, by the uid sweep / subreaper. The test looks for the marker in every command
line after the batch.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np

LINGER = """
import os, signal, time
for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(sig, signal.SIG_IGN)
os.setsid()
if os.fork() == 0:
    os.setsid()
while True:
    time.sleep(0.2)
"""

for _ in range(3):
    subprocess.Popen(
        [sys.executable, "-c", LINGER, "MHSA_MARKER"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
if os.fork() == 0:  # a double fork that never execs
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.2)
    os._exit(0)


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
