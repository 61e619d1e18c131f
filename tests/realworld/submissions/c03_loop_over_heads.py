import numpy as np


def softmax_lastdim(x: np.ndarray) -> np.ndarray:
    """Softmax over the last dimension, shifted by the row max so exp never overflows."""
    shifted = x - x.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-1, keepdims=True)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = inputs @ weights_q  # (B, N, D)
    k = inputs @ weights_k  # (B, N, D)
    v = inputs @ weights_v  # (B, N, D)
    return q, k, v


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    kq = Q @ K.swapaxes(-2, -1) * scale  # (..., Nq, Nk)
    att = softmax_lastdim(kq)
    return att @ V  # (..., Nq, dv)


def multi_head_self_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    D = inputs.shape[2]
    if num_heads <= 0:
        raise ValueError("need at least one head")
    if D % num_heads:
        raise ValueError(f"hidden size {D} is not a multiple of {num_heads} heads")
    HS = D // num_heads

    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)

    # List of head outputs
    head_outs = []
    for h in range(num_heads):
        cols = slice(h * HS, (h + 1) * HS)
        head_outs.append(
            scaled_dot_product_attention(
                q[:, :, cols], k[:, :, cols], v[:, :, cols], 1.0 / np.sqrt(HS)
            )
        )  # (B, N, HS)

    # Concatenate the head outputs
    return np.concatenate(head_outs, axis=-1)  # (B, N, D)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.random((2, 5, 32))
    wq, wk, wv = rng.random((3, 32, 32))
    print(multi_head_self_attention(x, wq, wk, wv, 4).shape)
