"""A generated class of submissions for the batch benchmark: correct, mistaken and broken.

Every file is textually unique (a student number in its docstring and a few cosmetic
choices), so neither mypy's cache nor any other cache sees the same file twice. The mix
mirrors a real class: most submissions work, many carry one of the classic mistakes, a few
do not run at all (syntax error, missing module, skeleton, crash, one endless loop).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

HEADER = '''"""
Multi-Head Self-Attention, submitted by student {number}.{salt}
"""

import math

import numpy as np

STUDENT_NUMBER = {number}
'''

SOFTMAX = '''

def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum."""
    shifted = x - x.max(axis={axis}, keepdims=True)
    exps = np.exp(shifted)
    result: np.ndarray = exps / exps.sum(axis={axis}, keepdims=True)
    return result
'''

UNSTABLE_SOFTMAX = '''

def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    exps = np.exp(x)
    result: np.ndarray = exps / exps.sum(axis=-1, keepdims=True)
    return result
'''

QKV = '''

def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project the inputs to queries, keys and values."""
    return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v
'''

QKV_TRANSPOSED = '''

def create_qkv(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project the inputs to queries, keys and values."""
    return inputs @ weights_q.T, inputs @ weights_k.T, inputs @ weights_v.T
'''

SDPA = '''

def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """softmax(Q K^T * scale) V over any leading batch axes."""
    scores = {scores}
    output: np.ndarray = softmax(scores) @ V
    return output
'''

SDPA_IN_PLACE = '''

def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """softmax(Q K^T * scale) V, scaling the queries first to save work."""
    Q *= scale
    output: np.ndarray = softmax(Q @ np.swapaxes(K, -1, -2)) @ V
    return output
'''

SDPA_HANGS = '''

def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    """Waits for a convergence that never comes."""
    total = 0.0
    while total >= 0.0:
        total += 1.0
    return Q
'''

MHA_VECTORISED = '''

def {name}(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Multi-head self-attention with all heads at once."""
    B, L, D = inputs.shape
{check}    hd = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    q = {split_q}
    k = {split_k}
    v = {split_v}
    y = scaled_dot_product_attention(q, k, v, {scale})
    out: np.ndarray = y.transpose(0, 2, 1, 3).reshape(B, L, D)
    return out
'''

MHA_LOOP = '''

def {name}(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    """Multi-head self-attention, one head at a time."""
    D = inputs.shape[-1]
{check}    hd = D // num_heads
    Q, K, V = create_qkv(inputs, weights_q, weights_k, weights_v)
    heads = []
    for h in range(num_heads):
        cols = slice(h * hd, (h + 1) * hd)
        heads.append(
            scaled_dot_product_attention(Q[..., cols], K[..., cols], V[..., cols], {scale})
        )
    return np.concatenate(heads, axis=-1)
'''

CHECK = """    if num_heads < 1 or D % num_heads != 0:
        raise ValueError("num_heads must be a positive divisor of D")
"""

SPLIT = "{x}.reshape(B, L, num_heads, hd).transpose(0, 2, 1, 3)"
SPLIT_NO_TRANSPOSE = "{x}.reshape(B, num_heads, L, hd)"
GOOD_SCORES = "Q @ np.swapaxes(K, -1, -2) * scale"
GOOD_SCALE = "1.0 / math.sqrt(hd)"


@dataclass(frozen=True)
class Variant:
    """One way of writing the assignment: its name, its kind and how to render it."""

    name: str
    kind: str  # "correct", "mistaken" or "broken"
    weight: int

    def render(self, number: int, rng: random.Random, salt: str = "") -> str:
        """The submission's source text for student ``number``."""
        return _render(self.name, number, rng, salt)


VARIANTS: tuple[Variant, ...] = (
    Variant("vectorised", "correct", 30),
    Variant("loop_heads", "correct", 15),
    Variant("alias_name", "correct", 5),
    Variant("no_scale", "mistaken", 5),
    Variant("softmax_axis", "mistaken", 5),
    Variant("no_transpose", "mistaken", 5),
    Variant("unstable", "mistaken", 5),
    Variant("scale_by_hd", "mistaken", 4),
    Variant("weights_transposed", "mistaken", 4),
    Variant("in_place", "mistaken", 4),
    Variant("no_check", "mistaken", 4),
    Variant("unannotated", "mistaken", 4),
    Variant("syntax_error", "broken", 2),
    Variant("missing_module", "broken", 2),
    Variant("skeleton", "broken", 2),
    Variant("crash", "broken", 1),
    Variant("returns_list", "broken", 1),
    Variant("empty", "broken", 1),
)

HANG = Variant("hang", "broken", 0)


def _mha(rng: random.Random, **changes: str) -> str:
    split = changes.pop("split", SPLIT)
    template = MHA_LOOP if changes.pop("loop", "") else MHA_VECTORISED
    fields = {
        "name": "multi_head_attention",
        "check": CHECK,
        "scale": GOOD_SCALE,
        "split_q": split.format(x="Q"),
        "split_k": split.format(x="K"),
        "split_v": split.format(x="V"),
    }
    fields.update(changes)
    return template.format(**fields)


def _render(name: str, number: int, rng: random.Random, salt: str) -> str:
    header = HEADER.format(number=number, salt=f" ({salt})" if salt else "")
    softmax = SOFTMAX.format(axis=-1)
    qkv, sdpa = QKV, SDPA.format(scores=GOOD_SCORES)
    mha = _mha(rng, loop="yes" if rng.random() < 0.3 else "")
    if name == "loop_heads":
        mha = _mha(rng, loop="yes")
    elif name == "alias_name":
        mha = _mha(rng, name="multi_head_self_attention")
    elif name == "no_scale":
        sdpa = SDPA.format(scores="Q @ np.swapaxes(K, -1, -2)")
    elif name == "softmax_axis":
        softmax = SOFTMAX.format(axis=-2)
    elif name == "no_transpose":
        mha = _mha(rng, split=SPLIT_NO_TRANSPOSE)
    elif name == "unstable":
        softmax = UNSTABLE_SOFTMAX
    elif name == "scale_by_hd":
        mha = _mha(rng, scale="1.0 / hd")
    elif name == "weights_transposed":
        qkv = QKV_TRANSPOSED
    elif name == "in_place":
        sdpa = SDPA_IN_PLACE
    elif name == "no_check":
        mha = _mha(rng, check="")
    elif name == "unannotated":
        qkv = qkv.replace("inputs: np.ndarray", "inputs")
    elif name == "syntax_error":
        mha = mha.replace("hd = D // num_heads", "hd = D // num_heads)", 1)
    elif name == "missing_module":
        header += "import attention_utils  # a helper file the student did not submit\n"
    elif name == "skeleton":
        body = '    raise NotImplementedError("not yet")\n'
        qkv = qkv.split('    """Project')[0] + body
        mha = mha.split('    """Multi-head')[0] + body
        sdpa = sdpa.split('    """softmax')[0] + body
    elif name == "crash":
        mha = mha.replace(
            "    hd = D // num_heads\n", "    hd = D // num_heads\n    os._exit(3)\n"
        )
        header += "import os\n"
    elif name == "returns_list":
        qkv = qkv.replace(
            "return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v",
            "return [inputs @ weights_q, inputs @ weights_k, inputs @ weights_v]  # type: ignore",
        )
    elif name == "empty":
        return ""
    elif name == "hang":
        sdpa = SDPA_HANGS
    source = header + softmax + qkv + sdpa + mha
    if rng.random() < 0.25:  # some students never run black
        source = source.replace("    return inputs @", "    return  inputs @")
    return source


def write_population(
    folder: Path, count: int, seed: int = 0, hangs: int = 1, salt: str = ""
) -> dict[str, str]:
    """Write ``count`` submissions ``<id>.py`` into ``folder``; return id -> kind.

    Variants are drawn by weight from a seeded generator, so a given (count, seed) always
    yields the same class; ``hangs`` of them (default one) never return from a call.
    A ``salt`` in every docstring makes the texts new to mypy's cache (a new class).
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    weights = [variant.weight for variant in VARIANTS]
    chosen = rng.choices(VARIANTS, weights=weights, k=count)
    for index in range(min(hangs, count)):
        chosen[(index + 1) * count // (hangs + 1)] = HANG
    kinds: dict[str, str] = {}
    for number, variant in enumerate(chosen, start=1):
        sub_id = f"s{number:04d}_{variant.name}"
        (folder / f"{sub_id}.py").write_text(
            variant.render(number, rng, salt), encoding="utf-8"
        )
        kinds[sub_id] = variant.kind
    return kinds
