"""
Multi-Head Self-Attention implemented with NumPy.

This module provides a small ``MultiHeadSelfAttention`` class that owns the
head bookkeeping (splitting the model dimension into heads and combining them
again) and three module-level functions with the signatures required by the
assignment.
"""

from __future__ import annotations

import math

import numpy as np


def stable_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """
    Applies the softmax function in a numerically stable way.

    Args:
        x (np.ndarray): Input array.
        axis (int): Axis along which the softmax is computed.

    Returns:
        np.ndarray: Softmax-applied output with the same shape as ``x``.
    """
    shifted = x - np.max(x, axis=axis, keepdims=True)
    exp_x = np.exp(shifted)
    return exp_x / np.sum(exp_x, axis=axis, keepdims=True)


class MultiHeadSelfAttention:
    """
    MultiHeadSelfAttention implements the multi-head attention mechanism
    from the Transformer architecture without any deep learning framework.

    Attributes:
        emb_size (int): The input embedding size.
        num_heads (int): The number of attention heads.
        head_dim (int): Dimension of each attention head.
    """

    def __init__(self, emb_size: int, num_heads: int) -> None:
        """
        Initializes the layer and validates the head configuration.

        Args:
            emb_size (int): Embedding size of the input.
            num_heads (int): Number of attention heads.

        Raises:
            ValueError: If ``num_heads`` is not positive or does not divide ``emb_size``.
        """
        if num_heads < 1:
            raise ValueError("num_heads must be a positive integer.")
        if emb_size % num_heads != 0:
            raise ValueError("emb_size must be divisible by num_heads.")
        self.emb_size = emb_size
        self.num_heads = num_heads
        self.head_dim = emb_size // num_heads

    def split_heads(self, x: np.ndarray) -> np.ndarray:
        """
        Splits the last dimension into (num_heads, head_dim) and transposes the
        result to (batch_size, num_heads, seq_length, head_dim).

        Args:
            x (np.ndarray): Tensor of shape (batch_size, seq_length, emb_size).

        Returns:
            np.ndarray: Tensor of shape (batch_size, num_heads, seq_length, head_dim).
        """
        batch_size, seq_length, _ = x.shape
        x = np.reshape(x, (batch_size, seq_length, self.num_heads, self.head_dim))
        return np.transpose(x, (0, 2, 1, 3))

    def combine_heads(self, x: np.ndarray) -> np.ndarray:
        """
        Concatenates the attention heads (inverse of ``split_heads``).

        Args:
            x (np.ndarray): Tensor of shape (batch_size, num_heads, seq_length, head_dim).

        Returns:
            np.ndarray: Tensor of shape (batch_size, seq_length, emb_size).
        """
        batch_size, _, seq_length, _ = x.shape
        x = np.transpose(x, (0, 2, 1, 3))
        return np.reshape(x, (batch_size, seq_length, self.emb_size))

    def forward(
        self,
        inputs: np.ndarray,
        weights_q: np.ndarray,
        weights_k: np.ndarray,
        weights_v: np.ndarray,
    ) -> np.ndarray:
        """
        Forward pass of the multi-head self-attention layer.

        Args:
            inputs (np.ndarray): Input tensor of shape (batch_size, seq_length, emb_size).
            weights_q (np.ndarray): Query projection of shape (emb_size, emb_size).
            weights_k (np.ndarray): Key projection of shape (emb_size, emb_size).
            weights_v (np.ndarray): Value projection of shape (emb_size, emb_size).

        Returns:
            np.ndarray: Output tensor of shape (batch_size, seq_length, emb_size).
        """
        query, key, value = create_qkv(inputs, weights_q, weights_k, weights_v)
        query = self.split_heads(query)
        key = self.split_heads(key)
        value = self.split_heads(value)
        attention = scaled_dot_product_attention(
            query, key, value, 1.0 / math.sqrt(self.head_dim)
        )
        return self.combine_heads(attention)


def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Projects the inputs to queries, keys and values.

    Args:
        inputs (np.ndarray): Input tensor of shape (batch_size, seq_length, emb_size).
        weights_q (np.ndarray): Query weights of shape (emb_size, emb_size).
        weights_k (np.ndarray): Key weights of shape (emb_size, emb_size).
        weights_v (np.ndarray): Value weights of shape (emb_size, emb_size).

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: The query, key and value tensors.
    """
    return (
        np.matmul(inputs, weights_q),
        np.matmul(inputs, weights_k),
        np.matmul(inputs, weights_v),
    )


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    scale: float,
) -> np.ndarray:
    """
    Computes the scaled dot-product attention.

    Args:
        Q (np.ndarray): Query tensor of shape (..., seq_len_q, depth).
        K (np.ndarray): Key tensor of shape (..., seq_len_k, depth).
        V (np.ndarray): Value tensor of shape (..., seq_len_k, depth_v).
        scale (float): Factor multiplying the raw attention scores.

    Returns:
        np.ndarray: Attention output of shape (..., seq_len_q, depth_v).
    """
    matmul_qk = np.matmul(Q, np.swapaxes(K, -1, -2))
    scaled_attention_logits = matmul_qk * scale
    attention_weights = stable_softmax(scaled_attention_logits, axis=-1)
    return np.matmul(attention_weights, V)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """
    Computes multi-head self-attention.

    Args:
        inputs (np.ndarray): Input tensor of shape (batch_size, seq_length, emb_size).
        weights_q (np.ndarray): Query weights of shape (emb_size, emb_size).
        weights_k (np.ndarray): Key weights of shape (emb_size, emb_size).
        weights_v (np.ndarray): Value weights of shape (emb_size, emb_size).
        num_heads (int): Number of attention heads.

    Returns:
        np.ndarray: Output tensor of shape (batch_size, seq_length, emb_size).

    Raises:
        ValueError: If ``num_heads`` is invalid for the embedding size.
    """
    layer = MultiHeadSelfAttention(inputs.shape[-1], num_heads)
    return layer.forward(inputs, weights_q, weights_k, weights_v)
