"""Attack: find the hidden reference solution (the kit's path, the path derived from the
interpreter, Gradescope's /autograder/source, a search of the whole file system, a symlink
into it) and, if readable, run it in place of its own code: full marks.

Contained: in the jail the kit is not mounted at all; under a dropped uid ``solution/`` is
closed to others; the file system search finds nothing.
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
    if "def multi_head_attention" not in text:
        return
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
