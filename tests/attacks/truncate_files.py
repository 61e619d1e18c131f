"""Attack: truncate every file it can reach: the other submissions, the reports, a
world-writable bait file, and (checked, not harmed) the kit's fixtures, solution, rubric,
grader code and the numpy the grader imports.

Contained: in the jail those paths are absent or mounted read-only; under a dropped uid
they are not writable by the sandbox user. The test compares hashes before and after.
"""

import glob
import os
import sys

import numpy as np

KIT = "MHSA_KIT_ROOT"
evidence: list[str] = []
for pattern in ("MHSA_SUBMISSIONS/*", "MHSA_OUT/**/*", "MHSA_BAIT/*"):
    for path in glob.glob(pattern, recursive=True):
        try:
            with open(path, "r+b") as target:
                target.truncate(0)
            evidence.append(path)
        except OSError:
            pass
numpy_init = os.path.join(os.path.dirname(np.__file__), "__init__.py")
for path in (
    os.path.join(KIT, "autograder", "fixtures", "hidden.json"),
    os.path.join(KIT, "solution", "mhsa.py"),
    os.path.join(KIT, "autograder", "score", "rubric.json"),
    os.path.join(KIT, "autograder", "judge", "compare.py"),
    numpy_init,
    sys.executable,
):
    try:
        with open(path, "r+b"):  # opened for writing, left unchanged
            evidence.append(path)
    except OSError:
        pass
    if os.access(path, os.W_OK):
        evidence.append("writable " + path)
here = os.getcwd()
for folder, dirs, files in os.walk("/"):
    dirs[:] = [
        d
        for d in dirs
        if os.path.join(folder, d) not in ("/proc", "/sys", "/dev", "/tmp", "/usr", here)
        and d not in ("site-packages", ".git", "lib")
    ]
    for name in files:
        path = os.path.join(folder, name)
        if os.access(path, os.W_OK) and not os.path.islink(path):
            evidence.append("writable " + path)


def check() -> None:
    if evidence:
        raise RuntimeError("BREACH " + " ".join(evidence[:20]))


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
