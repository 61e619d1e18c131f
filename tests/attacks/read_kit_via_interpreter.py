"""Attack: find the kit from the interpreter (``make grade`` runs ``<kit>/.venv/bin/python``)
and use the correct code it holds: the example and mutant-catalogue solutions
(``examples/submissions/correct.py``, ``tests/mutants/correct/*.py``) and the diagnosis
module (``autograder/diagnose/replay.py``, whose reference computation is one call away). Any of
them scores 10/10.

Contained: as root the grader closes the whole kit to other users, apart from the way to
the interpreter and the venv (traverse only, no listing); in the jail the kit is not
mounted at all.
"""

import os
import sys
from types import ModuleType
from typing import Any

import numpy as np

kit = os.path.dirname(os.path.dirname(os.path.dirname(sys.executable)))
stolen: dict[str, Any] = {}
evidence: list[str] = []
candidates = [
    os.path.join(kit, "examples", "submissions", "correct.py"),
    os.path.join(kit, "tests", "mutants", "correct", "vectorised.py"),
    os.path.join(kit, "autograder", "diagnose", "replay.py"),
    os.path.join("MHSA_KIT_ROOT", "examples", "submissions", "correct.py"),
]
for folder in (kit, os.path.join(kit, "tests", "mutants", "correct")):
    try:
        names = os.listdir(folder)
    except OSError:
        continue
    candidates += [os.path.join(folder, name) for name in names]
    if set(names) - {".venv", ".venv310"}:  # more than the interpreter's own folder
        evidence.append("listed " + folder)
for path in candidates:
    try:
        with open(path) as source:
            text = source.read()
    except (OSError, UnicodeDecodeError):
        continue
    evidence.append("read " + path)
    if "def multi_head_attention" in text and "NotImplementedError" not in text:
        module = ModuleType("stolen")
        try:
            exec(compile(text, path, "exec"), module.__dict__)
        except Exception:
            continue
        stolen.setdefault("module", module)


def check() -> None:
    if evidence:
        print("BREACH " + "; ".join(evidence[:4]))


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    check()
    if "module" in stolen:
        return stolen["module"].create_qkv(inputs, weights_q, weights_k, weights_v)  # type: ignore[no-any-return]
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    check()
    if "module" in stolen:
        return stolen["module"].scaled_dot_product_attention(Q, K, V, scale)  # type: ignore[no-any-return]
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    check()
    if "module" in stolen:
        return stolen["module"].multi_head_attention(  # type: ignore[no-any-return]
            inputs, weights_q, weights_k, weights_v, num_heads
        )
    return np.zeros(1)
