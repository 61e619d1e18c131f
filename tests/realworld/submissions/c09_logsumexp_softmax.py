import numpy as np


def logsumexp(arr: np.ndarray, axis: int = -1) -> np.ndarray:
    # Numerically stable implementation
    m = np.max(arr, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(arr - m), axis=axis, keepdims=True))


def softmax(arr: np.ndarray, axis: int = -1) -> np.ndarray:
    # Numerically stable implementation: exp(x - log(sum(exp(x))))
    return np.exp(arr - logsumexp(arr, axis=axis))


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    Q = np.matmul(inputs, weights_q)
    K = np.matmul(inputs, weights_k)
    V = np.matmul(inputs, weights_v)
    return (Q, K, V)


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    logits = np.matmul(Q, np.swapaxes(K, -2, -1)) * scale
    return np.matmul(softmax(logits, axis=-1), V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch_size, seq_len, hidden_dim = inputs.shape
    if not (num_heads >= 1 and hidden_dim % num_heads == 0):
        raise ValueError(
            f"num_heads ({num_heads}) must be positive and divide hidden_dim ({hidden_dim})"
        )
    head_dim = hidden_dim // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)

    def to_heads(x: np.ndarray) -> np.ndarray:
        # (B, L, D) -> (B, L, h, hd) -> (B, h, L, hd)
        return np.swapaxes(x.reshape(batch_size, seq_len, num_heads, head_dim), 1, 2)

    out = scaled_dot_product_attention(
        to_heads(Q), to_heads(K), to_heads(V), 1.0 / np.sqrt(head_dim)
    )
    # (B, h, L, hd) -> (B, L, h, hd) -> (B, L, D)
    return np.swapaxes(out, 1, 2).reshape(batch_size, seq_len, hidden_dim)
