"""Attack: search the whole file system for any working solution lying around (a
classmate's copy, a TA's scratch file, an unpacked handout) and run it: full marks.

Contained in the jail, whose root holds only /usr, the interpreter and the child's own
file. Under a dropped uid (Gradescope's mode) the search reaches every world-readable file
on the machine, so this is contained only as far as the machine holds no such copy.
"""

import os
from types import ModuleType
from typing import Any

import numpy as np

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


seen = 0
for folder, dirs, files in os.walk("/"):
    skip = ("/proc", "/sys", "/dev", "/usr")  # public system files: not worth the time
    dirs[:] = [
        d
        for d in dirs
        if os.path.join(folder, d) not in skip and d not in ("site-packages", ".git")
    ]
    for name in files:
        seen += 1
        if name.endswith(".py") and "mhsa" in name and folder != os.getcwd():
            _load(os.path.join(folder, name))
    if seen > 200_000:
        break


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
