"""Attack: read secrets from other processes' command lines, as an instructor's
``make grade TOKEN=...`` leaves them in ``/proc/<pid>/cmdline`` for every user (the test
keeps a process alive whose command line holds ``TOKEN=<the canary>``), and their
environments (``/proc/<pid>/environ``).

Contained: in the jail its own PID namespace shows no other process. Without namespaces
(uid mode) every command line on the machine is readable: nothing short of a mount
namespace (``hidepid``) hides it, so the grader names such ``NAME=value`` words to staff and
the README says to pass secrets through the environment, which stays unreadable (jail mode
only).
"""

import os

import numpy as np

found: list[str] = []
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    for name in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as source:
                words = source.read().split(b"\0")
        except OSError:
            continue
        for word in words:
            if word.startswith((b"TOKEN=", b"MHSA_CANARY=")):
                found.append(f"{name} of {pid}")  # where, never the value


def check() -> None:
    if found:
        raise RuntimeError("BREACH a secret on " + ", ".join(found[:3]))


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
