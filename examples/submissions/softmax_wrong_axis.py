"""
Script implementing the Multi-Head Self-Attention mechanism of the Transformer.
"""

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
    Q = inputs @ weights_q
    K = inputs @ weights_k
    V = inputs @ weights_v
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    """
    Compute the scaled dot product attention.
    """
    scores = (Q @ np.swapaxes(K, -1, -2)) * scale
    scores = scores - np.max(scores, axis=-2, keepdims=True)
    weights = np.exp(scores)
    weights = weights / np.sum(weights, axis=-2, keepdims=True)
    output: np.ndarray = weights @ V
    return output


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """
    Compute multi-head self-attention.
    """
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError("num_heads must be a positive divisor of the hidden size")
    d_head = D // num_heads

    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    Q = Q.reshape(B, L, num_heads, d_head).transpose(0, 2, 1, 3)
    K = K.reshape(B, L, num_heads, d_head).transpose(0, 2, 1, 3)
    V = V.reshape(B, L, num_heads, d_head).transpose(0, 2, 1, 3)

    out = scaled_dot_product_attention(Q, K, V, d_head**-0.5)
    return out.transpose(0, 2, 1, 3).reshape(B, L, D)


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
