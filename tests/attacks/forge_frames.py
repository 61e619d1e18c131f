"""Attack: write forged reply frames straight to the reply pipe (its number is in
``sys.argv``): a header of 4 GB, JSON nested a million deep, a shape whose element count
overflows 64 bits, a lie that an array is too large to send, and an "ok" frame of zeros in
the expected shape before the real reply.

Contained: the grader bounds the header, parses JSON safely, computes sizes exactly,
checks every claim against its own bound, and judges values only against its own expected
arrays; a function that breaks the protocol twice is not called again.
"""

import json
import os
import struct
import sys

import numpy as np

REPLY = int(sys.argv[3])


def _frame(header: object, payload: bytes = b"") -> None:
    body = json.dumps(header).encode()
    os.write(REPLY, struct.pack(">I", len(body)) + body + payload)


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = [*inputs.shape[:-1], weights_q.shape[1]]
    meta = {"dtype": "float64", "shape": shape}
    zeros = np.zeros(shape).tobytes()
    _frame(
        {"status": "ok", "kind": "tuple", "count": 3, "arrays": [meta] * 3},
        zeros * 3,
    )
    meta = {"dtype": "float64", "shape": [2**31 - 1] * 8}
    _frame({"status": "ok", "kind": "tuple", "count": 3, "arrays": [meta] * 3})
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    if Q.ndim == 3:
        os.write(REPLY, struct.pack(">I", 2**32 - 1))
    else:
        nested = b"[" * 1_000_000 + b"]" * 1_000_000
        os.write(REPLY, struct.pack(">I", len(nested)) + nested)
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    meta = {"dtype": "float64", "shape": list(inputs.shape), "too_large": True}
    _frame({"status": "ok", "kind": "single", "count": 1, "arrays": [meta]})
    return np.zeros(1)
