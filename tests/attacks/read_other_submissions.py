"""Attack: read the other submissions of the batch (and the reports already written) and
run a classmate's correct code as its own: full marks.

Contained: in the jail neither the submissions folder nor OUT is mounted; under a dropped
uid both are closed to others. Each child holds only its own file.
"""

import os
from types import ModuleType
from typing import Any

import numpy as np

FOLDERS = ("MHSA_SUBMISSIONS", "MHSA_OUT", "/autograder/submission", "/tmp")
stolen: dict[str, Any] = {}
evidence: list[str] = []
for folder in FOLDERS:
    try:
        names = os.listdir(folder)
    except OSError:
        continue
    for name in names:
        path = os.path.join(folder, name)
        if not name.endswith(".py") or not os.path.isfile(path):
            continue
        try:
            with open(path) as source:
                text = source.read()
        except (OSError, UnicodeDecodeError):
            continue
        if "def multi_head_attention" in text and path != os.path.abspath(__file__):
            evidence.append(path)
            module = ModuleType("classmate")
            try:
                exec(compile(text, path, "exec"), module.__dict__)
                stolen.setdefault("module", module)
            except Exception:
                pass


def check() -> None:
    if evidence:
        raise RuntimeError("BREACH read " + " ".join(evidence))


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> Any:
    if "module" in stolen:
        return stolen["module"].create_qkv(inputs, weights_q, weights_k, weights_v)
    check()
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> Any:
    if "module" in stolen:
        return stolen["module"].scaled_dot_product_attention(Q, K, V, scale)
    check()
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> Any:
    if "module" in stolen:
        return stolen["module"].multi_head_attention(
            inputs, weights_q, weights_k, weights_v, num_heads
        )
    check()
    return np.zeros(1)
