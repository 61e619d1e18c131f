import math
from typing import Optional

import numpy as np


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear projections of the inputs (no bias)."""
    q = np.matmul(inputs, weights_q)
    k = np.matmul(inputs, weights_k)
    v = np.matmul(inputs, weights_v)
    return q, k, v


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
    mask: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Calculate the attention output.

    Q, K, V must have matching leading dimensions; K and V must have matching
    penultimate dimension (seq_len_k == seq_len_v). The mask is added to the
    scaled logits (use -inf / -1e9 where attention is not allowed); None = no mask.

    Args:
      Q: query shape == (..., seq_len_q, depth)
      K: key shape == (..., seq_len_k, depth)
      V: value shape == (..., seq_len_v, depth_v)
      scale: multiplies the logits
      mask: float array broadcastable to (..., seq_len_q, seq_len_k). Defaults to None.

    Returns:
      output: (..., seq_len_q, depth_v)
    """
    matmul_qk = np.matmul(Q, np.swapaxes(K, -1, -2))  # (..., seq_len_q, seq_len_k)
    scaled_attention_logits = matmul_qk * scale
    if mask is not None:
        scaled_attention_logits = scaled_attention_logits + mask
    # softmax is normalized on the last axis (seq_len_k)
    logits_max = np.max(scaled_attention_logits, axis=-1, keepdims=True)
    unnormalized = np.exp(scaled_attention_logits - logits_max)
    attention_weights = unnormalized / np.sum(unnormalized, axis=-1, keepdims=True)
    output = np.matmul(attention_weights, V)  # (..., seq_len_q, depth_v)
    return output


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    batch_size, seq_len, d_model = inputs.shape
    if num_heads < 1 or d_model % num_heads != 0:
        raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}")
    depth = d_model // num_heads

    def split_heads(x: np.ndarray) -> np.ndarray:
        """Split the last dimension into (num_heads, depth), then put heads first."""
        x = np.reshape(x, (batch_size, -1, num_heads, depth))
        return np.transpose(x, (0, 2, 1, 3))

    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)
    q, k, v = split_heads(q), split_heads(k), split_heads(v)
    scaled_attention = scaled_dot_product_attention(q, k, v, 1.0 / math.sqrt(depth))
    scaled_attention = np.transpose(scaled_attention, (0, 2, 1, 3))
    concat_attention = np.reshape(scaled_attention, (batch_size, -1, d_model))
    return concat_attention
