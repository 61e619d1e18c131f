"""A syntax error on line 4."""
import numpy as np

def create_qkv(inputs, weights_q, weights_k, weights_v)
    return inputs
