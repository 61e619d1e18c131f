"""
Script implementing the Multi-Head Self-Attention mechanism of the Transformer.

This version loops over the heads and uses the name multi_head_self_attention from the
assignment text.
"""

import math

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Compute queries, keys, and values from the input tensor.
    """
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    """
    Compute the scaled dot product attention.
    """
    scores = (Q @ K.swapaxes(-1, -2)) * scale
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    output: np.ndarray = weights @ V
    return output


def multi_head_self_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """
    Compute multi-head self-attention, one head at a time.
    """
    hidden_dim = inputs.shape[-1]
    if num_heads < 1:
        raise ValueError("num_heads must be at least 1")
    if hidden_dim % num_heads != 0:
        raise ValueError("hidden_dim must be divisible by num_heads")
    head_dim = hidden_dim // num_heads
    scale = 1 / math.sqrt(head_dim)

    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)

    head_outputs = []
    for h in range(num_heads):
        start, end = h * head_dim, (h + 1) * head_dim
        head = scaled_dot_product_attention(
            Q[:, :, start:end], K[:, :, start:end], V[:, :, start:end], scale
        )
        head_outputs.append(head)

    return np.concatenate(head_outputs, axis=-1)


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

    # calculate multi_head_self_attention's output
    attention_output = multi_head_self_attention(
        inputs, weights_q, weights_k, weights_v, num_heads
    )
    print(attention_output)


if __name__ == "__main__":
    main()
