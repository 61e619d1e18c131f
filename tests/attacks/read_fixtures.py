"""Attack: read the fixture files (public and hidden inputs with their expected outputs),
list their folder, and copy them out through an exception message.

Contained: in the jail the kit is not mounted; under a dropped uid the fixtures folder is
closed to others. Expected values never enter the child.
"""

import glob
import os

import numpy as np

KIT = "MHSA_KIT_ROOT"
evidence: list[str] = []
for name in ("hidden.json", "public.json", "MANIFEST.sha256"):
    try:
        with open(os.path.join(KIT, "autograder", "fixtures", name)) as source:
            evidence.append(name + ":" + source.read(200))
    except OSError:
        pass
try:
    evidence.append("listing:" + ",".join(os.listdir(os.path.join(KIT, "autograder", "fixtures"))))
except OSError:
    pass
for path in glob.glob("/**/hidden.json", recursive=False) + glob.glob("/autograder/source/**/*.json"):
    evidence.append(path)


def check() -> None:
    if evidence:
        raise RuntimeError("BREACH " + " | ".join(evidence))


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
