import numpy as np
from scipy.special import softmax


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    K = inputs @ weights_k
    Q = inputs @ weights_q
    V = inputs @ weights_v
    return Q, K, V


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    # We score the query vectors against all the key vectors.
    scores = Q @ np.swapaxes(K, -1, -2) * scale
    # scipy's softmax already subtracts the max, so large scores are fine
    weights = softmax(scores, axis=-1)
    return weights @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads:
        raise ValueError("number of heads must divide the model dimension")
    heads_dim = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    attention_heads = []
    for i in range(0, D, heads_dim):
        attention_heads.append(
            scaled_dot_product_attention(
                Q[..., i : i + heads_dim],
                K[..., i : i + heads_dim],
                V[..., i : i + heads_dim],
                1 / np.sqrt(heads_dim),
            )
        )
    return np.concatenate(attention_heads, axis=-1)
