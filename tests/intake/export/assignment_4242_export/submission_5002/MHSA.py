"""
Script implementing the Multi-Head Self-Attention mechanism of the Transformer.
"""

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """
    Softmax along `axis`, shifted by the maximum so that exp cannot overflow.
    """
    shifted = x - np.max(x, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    result: np.ndarray = exps / np.sum(exps, axis=axis, keepdims=True)
    return result


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Compute queries, keys, and values from the input tensor.
    """
    Q = np.matmul(inputs, weights_q)
    K = np.matmul(inputs, weights_k)
    V = np.matmul(inputs, weights_v)
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
    scores = np.matmul(Q, np.swapaxes(K, -2, -1)) * scale
    attention_weights = softmax(scores, axis=-1)
    output: np.ndarray = np.matmul(attention_weights, V)
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
    batch_size, seq_len, hidden_dim = inputs.shape
    if num_heads <= 0 or hidden_dim % num_heads != 0:
        raise ValueError(
            f"num_heads={num_heads} must be positive and divide hidden_dim={hidden_dim}"
        )
    head_dim = hidden_dim // num_heads

    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)

    def split_heads(x: np.ndarray) -> np.ndarray:
        # (batch, seq, hidden) -> (batch, heads, seq, head_dim)
        return x.reshape(batch_size, seq_len, num_heads, head_dim).transpose(0, 2, 1, 3)

    heads = scaled_dot_product_attention(
        split_heads(Q), split_heads(K), split_heads(V), 1.0 / np.sqrt(head_dim).item()
    )
    # (batch, heads, seq, head_dim) -> (batch, seq, hidden)
    output = heads.transpose(0, 2, 1, 3).reshape(batch_size, seq_len, hidden_dim)
    return output


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
