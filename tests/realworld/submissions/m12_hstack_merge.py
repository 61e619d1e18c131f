import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    # We subtract max(x) for numerical stability
    exp_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return exp_x / np.sum(exp_x, axis=-1, keepdims=True)


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
    # [..., n_q, d_k], [..., n_k, d_k], [..., n_k, d_v] -> [..., n_q, d_v]
    return softmax(Q @ np.swapaxes(K, -1, -2) * scale) @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    n_embd = inputs.shape[-1]
    if num_heads < 1 or n_embd % num_heads:
        raise ValueError("n_embd must be divisible by num_heads")
    # qkv projection
    qkv = create_qkv(inputs, weights_q, weights_k, weights_v)
    # split into heads: 3 of [B, n_seq, n_embd] -> 3 of n_head x [B, n_seq, n_embd/n_head]
    qkv_heads = [np.split(x, num_heads, axis=-1) for x in qkv]
    scale = 1 / np.sqrt(n_embd // num_heads)
    # perform attention over each head
    out_heads = [scaled_dot_product_attention(q, k, v, scale) for q, k, v in zip(*qkv_heads)]
    # merge heads
    return np.hstack(out_heads)
