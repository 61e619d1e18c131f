"""Attack: stop the whole batch with one string. Exception messages, a missing module's
name and printed output hold lone surrogates (``"\\ud800"``), which survive JSON and, on
main, made writing ``feedback.md`` raise ``UnicodeEncodeError`` in the grader's main
process: no gradebook, no reports for anyone.

Contained: every string from the child is made safe where it enters the grader (lone
surrogates become U+FFFD); a report that still fails to write costs only its own row
(``internal_error``), never the batch.
"""

import numpy as np

LONE = "\ud800 half of a pair \udfff and the other half"


class Sneaky(Exception):
    def __str__(self) -> str:
        return LONE * 3


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise ValueError(LONE)


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    raise ModuleNotFoundError(LONE, name=LONE)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    raise Sneaky()
