import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


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
    return softmax(Q @ np.swapaxes(K, -1, -2) * scale) @ V


def reshape_heads_to_batch_dim(x: np.ndarray, heads: int) -> np.ndarray:
    # (B, L, D) -> (heads * B, L, D // heads): every head becomes extra batch entries
    batch_size, seq_len, dim = x.shape
    x = x.reshape(batch_size, seq_len, heads, dim // heads)
    return x.transpose(2, 0, 1, 3).reshape(heads * batch_size, seq_len, dim // heads)


def reshape_batch_dim_to_heads(x: np.ndarray, heads: int) -> np.ndarray:
    # (heads * B, L, d) -> (B, L, heads * d)
    batch_size = x.shape[0] // heads
    seq_len, head_size = x.shape[1], x.shape[2]
    x = x.reshape(batch_size, heads, seq_len, head_size)
    return x.transpose(0, 2, 1, 3).reshape(batch_size, seq_len, heads * head_size)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    dim = inputs.shape[-1]
    if num_heads < 1 or dim % num_heads != 0:
        raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)
    q = reshape_heads_to_batch_dim(q, num_heads)
    k = reshape_heads_to_batch_dim(k, num_heads)
    v = reshape_heads_to_batch_dim(v, num_heads)
    out = scaled_dot_product_attention(q, k, v, (dim // num_heads) ** -0.5)
    return reshape_batch_dim_to_heads(out, num_heads)
