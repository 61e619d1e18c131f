"""Attack: smuggle the hidden cases' inputs out through the feedback.

Every call turns its first input (its shape and its first value) into a number and sends
it back through one channel after another: the name of an exception class made for the
purpose, an exception's message, sys.exit's code, a missing module's name, the line an
exception is raised from, the class name of a returned object, how many values it returns,
the rank of a returned integer array, a forged reply (a count of that number, class names,
dtype names, an index of a "modified" argument), the process's exit code and how long it
takes. Had any of it reached the feedback, a student could read the hidden inputs there
and hard-code the answers offline.

Contained: only fixed sentences about hidden cases reach any report: exception types only
when built-in, no message, no line, no exit code, no count, no class name; every number
read from the child is checked against what the grader asked for.
``tests/test_boundary.py`` grades this file against two different sets of hidden cases
and finds its feedback, results.json and gradebook row identical.
"""

import json
import os
import struct
import sys
import time

import numpy as np

REPLY = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else -1
CALLS: dict[str, int] = {}
WAYS = 8  # the channels below, taken in turn; each function starts at another one
OFFSETS = {"create_qkv": 0, "scaled_dot_product_attention": 3, "multi_head_attention": 6}


def secret(first: object) -> str:
    """The first input's shape and first value, as digits."""
    array = np.asarray(first, dtype=np.float64)
    value = abs(float(array.ravel()[0])) if array.size else 0.0
    return "".join(str(d) for d in array.shape) + "%012d" % int(value * 1e11 % 1e12)


def forge(digits: str) -> None:
    """A reply written straight to the grader's pipe, full of the secret."""
    number = int(digits[:18])
    arrays = [{"not_array": "BREACH" + digits}] * 7
    arrays.append({"dtype": "BREACH" + digits, "shape": [int(digits[-3:])], "withheld": True})
    header = {
        "status": "ok",
        "kind": "tuple",
        "count": number,
        "arrays": arrays,
        "modified": [int(digits[-2:]) + 9],
    }
    body = json.dumps(header).encode()
    os.write(REPLY, struct.pack(">I", len(body)) + body)


def leak(function: str, first: object) -> object:
    digits = secret(first)
    CALLS[function] = CALLS.get(function, 0) + 1
    calls = CALLS[function]
    if function == "multi_head_attention" and calls in (11, 13) and REPLY >= 0:
        forge(digits)  # late: each costs a restart, two end the function's calls
        return np.zeros(1)
    if function == "multi_head_attention" and calls == 12:
        os._exit(int(digits[-2:]) + 1)
    way = (calls + OFFSETS[function]) % WAYS
    if way == 0:
        raise type("BREACH" + digits, (Exception,), {})("leak " + digits)
    if way == 1:
        time.sleep(int(digits[-1]) * 0.03)
        raise ValueError("leak " + digits)
    if way == 2:
        raise SystemExit(int(digits[:15]))
    if way == 3:
        raise ModuleNotFoundError("leak", name="leak" + digits)
    if way == 4:
        lines = "\n" * (int(digits[-4:]) % 40)  # a line inside the file, or beyond it
        exec(compile(lines + "raise KeyError(1)", __file__, "exec"))
    if way == 5:
        return type("BREACH" + digits, (), {})()
    if way == 6:
        return tuple(np.zeros(1) for _ in range(4 + int(digits[-1])))
    return np.zeros((1,) * (5 + int(digits[-1]) % 3), dtype=np.int64)


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return leak("create_qkv", inputs)  # type: ignore[return-value]


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    return leak("scaled_dot_product_attention", Q)  # type: ignore[return-value]


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    return leak("multi_head_attention", inputs)  # type: ignore[return-value]
