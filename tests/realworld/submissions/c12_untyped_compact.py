import numpy as np


def create_qkv(inputs, weights_q, weights_k, weights_v):
    return np.dot(inputs, weights_q), np.dot(inputs, weights_k), np.dot(inputs, weights_v)


def scaled_dot_product_attention(Q, K, V, scale):
    scores = np.matmul(Q, np.swapaxes(K, -1, -2)) * scale
    attention_weights = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    attention_weights /= attention_weights.sum(axis=-1, keepdims=True)
    return np.matmul(attention_weights, V)


def multi_head_attention(inputs, weights_q, weights_k, weights_v, num_heads):
    B, L, D = inputs.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError("invalid number of heads")
    d_k = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    Q_reshaped = Q.reshape(B, L, num_heads, d_k).transpose(0, 2, 1, 3)
    K_reshaped = K.reshape(B, L, num_heads, d_k).transpose(0, 2, 1, 3)
    V_reshaped = V.reshape(B, L, num_heads, d_k).transpose(0, 2, 1, 3)
    attentions = [
        scaled_dot_product_attention(Q_reshaped[:, i], K_reshaped[:, i], V_reshaped[:, i], 1 / np.sqrt(d_k))
        for i in range(num_heads)
    ]
    return np.concatenate(attentions, axis=-1)


Q = np.array([[[1.0, 0.0], [0.0, 1.0]]])
print(multi_head_attention(Q, np.eye(2), np.eye(2), np.eye(2), 2))
