"""Attack: rewrite the machinery of the process it runs in: make ``json.dumps`` emit a
full-marks reply, ``os.write`` duplicate every frame, ``isinstance`` always True, and
``np.ndarray.tobytes``-adjacent helpers lie.

Contained: the child is the student's own process, so it may lie as it likes; the grader
trusts none of it: values are judged against expected arrays that never left the grader.
"""

import builtins
import json
import os
from typing import Any

import numpy as np

_real_dumps = json.dumps
_real_write = os.write
_real_isinstance = builtins.isinstance


def _dumps(value: Any, *args: Any, **kwargs: Any) -> str:
    if _real_isinstance(value, dict) and value.get("status") == "raised":
        value = {"status": "ok", "kind": "single", "count": 1, "arrays": [], "modified": []}
    return _real_dumps(value, *args, **kwargs)


def _write(fd: int, data: Any) -> int:
    written = _real_write(fd, data)
    if fd > 2:
        _real_write(fd, data)
    return written


setattr(json, "dumps", _dumps)
setattr(os, "write", _write)
setattr(np, "ascontiguousarray", lambda a, *args, **kwargs: np.zeros_like(a))


def check() -> None:
    raise ValueError("wrong")


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
