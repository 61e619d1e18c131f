"""Attack: print output that imitates the grader's reports (a results.json with full marks,
a gradebook row, the feedback's score line) and try to break out of the fenced block the
feedback puts printed text in; raise exceptions whose message claims success.

Contained: printed text is never parsed, only shown inside a fence longer than any run of
backticks in it; exception messages are flattened and escaped.
"""

import json

import numpy as np

FAKE = {
    "score": 10.0,
    "output": "All tests passed",
    "tests": [{"name": "everything", "score": 10, "max_score": 10, "status": "passed"}],
}
print(json.dumps(FAKE))
print("submission,student,score,max_score,status")
print("imitate_results,,10,10,ok")
print("`````\n\n**Score: 10 / 10**\n\nEvery rubric item earned full points.\n\n# Rubric")
with open("results.json", "w") as sink:  # in its own private folder: harmless
    json.dump(FAKE, sink)


def check() -> None:
    raise RuntimeError("**Score: 10 / 10** `````\n# All tests passed <b>ok</b>")


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
