"""Attack: take over the instructor's terminal. Exception messages, printed output and a
missing module's name carry raw escape sequences (clear the screen, set the window title,
OSC 8 links, the 8-bit CSI, bidi overrides) meant to reach the class digest that
``make grade`` prints, and every report.

Contained: control characters other than newline and tab are replaced where the child's
text enters the grader, so no report and no terminal line carries them.
"""

import numpy as np

ESCAPES = (
    "\x1b[2J\x1b[H\x1b]0;graded 10/10\x07"
    "\x1b]8;;https://example.invalid\x07click\x1b]8;;\x07"
    "\x9b31m red \u202e reversed \u2066 isolated \r overwritten \x00\x7f"
)
print(ESCAPES)


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise RuntimeError(ESCAPES)


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    raise ModuleNotFoundError(ESCAPES, name=ESCAPES)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    raise SystemExit(ESCAPES)
