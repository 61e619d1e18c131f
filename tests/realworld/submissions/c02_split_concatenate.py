import numpy as np


def softmax(x):
    # subtract the max for numerical stability
    exp_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return exp_x / np.sum(exp_x, axis=-1, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple:
    # [B, L, D] @ [D, D] -> [B, L, D]
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
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
    if num_heads < 1 or n_embd % num_heads != 0:
        raise ValueError(f"cannot split {n_embd} features into {num_heads} heads")

    # qkv projection
    qkv = create_qkv(inputs, weights_q, weights_k, weights_v)

    # split into heads: 3 x [B, L, D] -> 3 x n_head x [B, L, D/n_head]
    qkv_heads = [np.split(x, num_heads, axis=-1) for x in qkv]

    # attention over each head
    scale = 1.0 / np.sqrt(n_embd // num_heads)
    out_heads = [
        scaled_dot_product_attention(q, k, v, scale) for q, k, v in zip(*qkv_heads)
    ]

    # merge heads back along the feature axis
    return np.concatenate(out_heads, axis=-1)
