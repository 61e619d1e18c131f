"""Attack: forge the numbers of a reply, straight into the reply pipe. Right values with a
"modified" index of -100 (on main, the grader looked it up in its own parameter list and
crashed: ``internal_error`` for a student's file), an exception "raised" at line
1,000,000,000 from a class named BREACH, a count of 10**15 values, a dtype and a class
name made of the secret, then the process ends before its real reply.

Contained: every number in a reply is checked against what the grader asked for (indices
of the arrays it sent, lines of the file, the function's own count, numpy's dtype names);
a reply that breaks these is refused unread and its child killed; text the child chose
never becomes a name in the feedback.
"""

import json
import os
import struct
import sys

import numpy as np

REPLY = int(sys.argv[3])


def forge(header: dict[str, object], payload: bytes = b"") -> None:
    body = json.dumps(header).encode()
    os.write(REPLY, struct.pack(">I", len(body)) + body + payload)
    os._exit(0)  # the real reply never comes


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    outputs = [inputs @ weights_q, inputs @ weights_k, inputs @ weights_v]
    meta = {"dtype": "float64", "shape": list(outputs[0].shape)}
    payload = b"".join(np.ascontiguousarray(o, dtype=np.float64).tobytes() for o in outputs)
    forge(
        {"status": "ok", "kind": "tuple", "count": 3, "arrays": [meta] * 3, "modified": [-100]},
        payload,
    )
    raise AssertionError("unreachable")


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    error = {"type": "BREACH_in_a_class_name", "message": "forged", "line": 10**9}
    forge({"status": "raised", "error": error})
    raise AssertionError("unreachable")


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    arrays = [{"not_array": "BREACH_class"}] * 7 + [
        {"dtype": "BREACH1234", "shape": [3], "withheld": True}
    ]
    forge({"status": "ok", "kind": "list", "count": 10**15, "arrays": arrays})
    raise AssertionError("unreachable")
