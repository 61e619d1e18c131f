"""Attack: return object arrays whose elements pickle into code (``__reduce__`` that creates
a file), raw pickle bytes as a uint8 array, and a hand-written reply frame that announces
dtype ``object`` with a pickle as its buffer.

Contained: nothing is unpickled anywhere: the child sends only numeric buffers, the grader
accepts only float64/float32 and reads at most the bound. The test checks the file the
payload would create does not exist.
"""

import json
import os
import pickle
import struct
import sys
from typing import Any

import numpy as np

TRAP = os.path.join("MHSA_BAIT", "unpickled")


class Payload:
    """Unpickling this creates a file: proof that someone unpickled it."""

    def __reduce__(self) -> Any:
        return (open, (TRAP, "w"))


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> Any:
    evil = np.array([Payload(), Payload()], dtype=object)
    return evil, evil, evil


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> Any:
    return np.frombuffer(pickle.dumps(Payload()), dtype=np.uint8)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> Any:
    blob = pickle.dumps(np.array([Payload()], dtype=object))
    header = json.dumps(
        {
            "status": "ok",
            "kind": "single",
            "count": 1,
            "arrays": [{"dtype": "object", "shape": [len(blob)]}],
            "modified": [],
        }
    ).encode()
    reply = int(sys.argv[3])
    os.write(reply, struct.pack(">I", len(header)) + header + blob)
    return np.zeros(1)
