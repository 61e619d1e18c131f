"""Attack: raise exceptions built to hurt the report: a 100 kB message full of Markdown,
HTML and backticks; an exception whose ``__str__`` raises; one whose ``__str__`` never
returns.

Contained: the child converts messages defensively (a failing ``__str__`` becomes a
placeholder, a hanging one hits the call deadline); the grader flattens, escapes and cuts
every student string it shows.
"""

import numpy as np


class Loud(Exception):
    def __str__(self) -> str:
        return ("</details><script>alert(1)</script> ``` **Score: 10 / 10** \n# ok " * 2000)


class Broken(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


class Endless(Exception):
    def __str__(self) -> str:
        while True:
            pass


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise Loud()


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    raise Broken()


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    raise Endless()
