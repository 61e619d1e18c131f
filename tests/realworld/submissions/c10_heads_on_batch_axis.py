import numpy as np


def transpose_qkv(X: np.ndarray, num_heads: int) -> np.ndarray:
    """Transposition for parallel computation of multiple attention heads."""
    # Shape of input X: (batch_size, no. of queries or key-value pairs, num_hiddens).
    # Shape of output X: (batch_size, no. of queries or key-value pairs, num_heads,
    # num_hiddens / num_heads)
    X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
    # Shape of output X: (batch_size, num_heads, no. of queries or key-value pairs,
    # num_hiddens / num_heads)
    X = X.transpose(0, 2, 1, 3)
    # Shape of output: (batch_size * num_heads, no. of queries or key-value pairs,
    # num_hiddens / num_heads)
    return X.reshape(-1, X.shape[2], X.shape[3])


def transpose_output(X: np.ndarray, num_heads: int) -> np.ndarray:
    """Reverse the operation of transpose_qkv."""
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
    X = X.transpose(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    # Shape of scores: (batch_size, no. of queries, no. of key-value pairs)
    scores = np.matmul(Q, np.swapaxes(K, -1, -2)) * scale
    scores = scores - scores.max(axis=-1, keepdims=True)
    attention_weights = np.exp(scores)
    attention_weights = attention_weights / attention_weights.sum(axis=-1, keepdims=True)
    return np.matmul(attention_weights, V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    num_hiddens = inputs.shape[-1]
    if num_heads < 1 or num_hiddens % num_heads != 0:
        raise ValueError("num_hiddens must be divisible by num_heads")
    queries, keys, values = create_qkv(inputs, weights_q, weights_k, weights_v)
    # After transposing, shape of queries, keys, or values:
    # (batch_size * num_heads, no. of queries or key-value pairs, num_hiddens / num_heads)
    queries = transpose_qkv(queries, num_heads)
    keys = transpose_qkv(keys, num_heads)
    values = transpose_qkv(values, num_heads)
    # Shape of output: (batch_size * num_heads, no. of queries, num_hiddens / num_heads)
    output = scaled_dot_product_attention(
        queries, keys, values, 1 / np.sqrt(num_hiddens // num_heads)
    )
    # Shape of output_concat: (batch_size, no. of queries, num_hiddens)
    return transpose_output(output, num_heads)
