"""Attack: open the hidden reference solution where the kit keeps it (the kit's path, the
path derived from the interpreter, Gradescope's /autograder/source, a symlink into it) and,
if readable, run it in place of its own code: full marks.

Contained: in the jail the kit is not mounted at all; under a dropped uid ``solution/`` is
closed to others.
"""

import os
import sys
from types import ModuleType
from typing import Any

import numpy as np

KIT = "MHSA_KIT_ROOT"
found: dict[str, Any] = {}
evidence: list[str] = []


def _load(path: str) -> None:
    try:
        with open(path) as source:
            text = source.read()
    except (OSError, UnicodeDecodeError):
        return
    if "def multi_head_attention" not in text or "NotImplementedError" in text:
        return  # not a solution (the handout's skeleton is public anyway)
    evidence.append(path)
    module = ModuleType("stolen")
    try:
        exec(compile(text, path, "exec"), module.__dict__)
    except Exception:
        return
    found.setdefault("module", module)


venv_root = os.path.dirname(os.path.dirname(os.path.dirname(sys.executable)))
for root in (KIT, venv_root, "/autograder/source"):
    _load(os.path.join(root, "solution", "mhsa.py"))
try:
    os.symlink(os.path.join(KIT, "solution", "mhsa.py"), "link.py")
    _load("link.py")
except OSError:
    pass
def check() -> None:
    if evidence:
        raise RuntimeError("BREACH read " + " ".join(evidence))


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> Any:
    if "module" in found:
        return found["module"].create_qkv(inputs, weights_q, weights_k, weights_v)
    check()
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> Any:
    if "module" in found:
        return found["module"].scaled_dot_product_attention(Q, K, V, scale)
    check()
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> Any:
    if "module" in found:
        return found["module"].multi_head_attention(
            inputs, weights_q, weights_k, weights_v, num_heads
        )
    check()
    return np.zeros(1)
