"""Similarity ranking: copies rank first whatever their disguise; style and skeleton do not.
Each source's measurement is kept on disk, so a class is tokenised once."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.report import similarity
from autograder.report.similarity import (
    COMMON_MIN_CLASS,
    THRESHOLD,
    compare,
    measured,
    normalise,
    read_skeleton,
    write_csv,
)
from tests.conftest import EXAMPLES

CORRECT = (EXAMPLES / "correct.py").read_bytes()
LOOP_HEADS = (EXAMPLES / "loop_heads.py").read_bytes()
SKELETON = read_skeleton()

# correct.py copied, then disguised: every local name changed, comments and docstrings
# rewritten, quotes, line breaks and trailing commas changed, blank lines added.
DISGUISED_COPY = b"""
# My own work!!
import numpy as np

def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    # stable version
    z_shift = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z_shift)
    res: np.ndarray = e / np.sum(e, axis=axis, keepdims=True)
    return res


def create_qkv(inputs: np.ndarray, weights_q: np.ndarray,
               weights_k: np.ndarray, weights_v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    \'\'\'Make the three projections.\'\'\'
    q = np.matmul(inputs, weights_q)
    k = np.matmul(inputs, weights_k)

    v = np.matmul(inputs, weights_v)
    return q, k, v


def scaled_dot_product_attention(Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float) -> np.ndarray:
    \'\'\'Attention.\'\'\'
    s = np.matmul(Q, np.swapaxes(K, -2, -1)) * scale   # scores
    a = softmax(s, axis=-1)
    result: np.ndarray = np.matmul(a, V)
    return result


def multi_head_attention(inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray,
                         weights_v: np.ndarray, num_heads: int) -> np.ndarray:
    nb, n, d = inputs.shape
    if num_heads <= 0 or d % num_heads != 0:
        raise ValueError(f'bad head count {num_heads} for width {d}')
    hd = d // num_heads
    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)

    def to_heads(t: np.ndarray) -> np.ndarray:
        return t.reshape(nb, n, num_heads, hd).transpose(0, 2, 1, 3)

    out = scaled_dot_product_attention(to_heads(q), to_heads(k), to_heads(v), 1.0 / np.sqrt(hd).item())
    y = out.transpose(0, 2, 1, 3).reshape(nb, n, d)
    return y


def main() -> None:
    inputs = np.random.rand(1, 5, 32)
    hidden_dim = 32
    num_heads = 4
    weights_q = np.random.rand(hidden_dim, hidden_dim)
    weights_k = np.random.rand(hidden_dim, hidden_dim)
    weights_v = np.random.rand(hidden_dim, hidden_dim)
    attention_output = multi_head_attention(inputs, weights_q, weights_k, weights_v, num_heads)
    print(attention_output.shape)


if __name__ == '__main__':
    main()
"""

# A third correct solution written independently of the other two: einsum, no helper.
EINSUM_STYLE = b'''
"""Multi-head self-attention with einsum."""
import numpy as np


def create_qkv(inputs, weights_q, weights_k, weights_v):
    """Project the inputs."""
    return tuple(np.einsum("bld,de->ble", inputs, w) for w in (weights_q, weights_k, weights_v))


def scaled_dot_product_attention(Q, K, V, scale):
    """softmax(Q K^T * scale) V over the last axis."""
    logits = np.einsum("...qd,...kd->...qk", Q, K) * scale
    logits -= logits.max(axis=-1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("...qk,...kv->...qv", p, V)


def multi_head_attention(inputs, weights_q, weights_k, weights_v, num_heads):
    """Split, attend per head, concatenate."""
    batch, length, width = inputs.shape
    if not (isinstance(num_heads, int) and num_heads >= 1 and width % num_heads == 0):
        raise ValueError("num_heads must divide the model width")
    size = width // num_heads
    q, k, v = create_qkv(inputs, weights_q, weights_k, weights_v)
    heads = [
        scaled_dot_product_attention(
            q[..., i * size:(i + 1) * size],
            k[..., i * size:(i + 1) * size],
            v[..., i * size:(i + 1) * size],
            size ** -0.5,
        )
        for i in range(num_heads)
    ]
    return np.concatenate(heads, axis=-1)
'''


def test_normalising_ignores_comments_docstrings_formatting_and_names() -> None:
    plain = b"def f(x, y):\n    z = x + y\n    return z * 2\n"
    disguised = (
        b'def g(a,\n      b,):\n    """Adds."""\n    # sum first\n'
        b"    total = a+b  # here\n\n    return total*2\n"
    )
    assert normalise(plain) == normalise(disguised)
    assert normalise(plain) != normalise(
        b"def f(x, y):\n    z = x - y\n    return z * 2\n"
    )


def test_numpy_attribute_and_keyword_names_stay_literal() -> None:
    tokens = normalise(b"import numpy as np\ny = np.max(x, axis=-1, keepdims=True)\n")
    assert {"numpy", "max", "axis", "keepdims", "True"} <= set(tokens)
    assert "np" not in tokens and "x" not in tokens and "y" not in tokens


def test_identical_files_under_different_names_top_the_list() -> None:
    sources = {p.stem: p.read_bytes() for p in EXAMPLES.glob("*.py")}
    sources["zz_renamed_copy"] = sources["unstable_softmax"]
    report = compare(sources, SKELETON)
    top = report.pairs[0]
    assert {top.a, top.b} == {"unstable_softmax", "zz_renamed_copy"}
    assert top.identical and top.flagged and top.similarity == 1.0


def test_planted_disguised_copy_is_flagged() -> None:
    report = compare(
        {"original": CORRECT, "copy": DISGUISED_COPY, "loop": LOOP_HEADS}, SKELETON
    )
    top = report.pairs[0]
    assert {top.a, top.b} == {"copy", "original"}
    assert top.flagged and top.similarity >= 0.8
    assert [p for p in report.flagged] == [top]


def test_independent_correct_solutions_in_different_styles_are_not_flagged() -> None:
    report = compare(
        {"vectorised": CORRECT, "loop": LOOP_HEADS, "einsum": EINSUM_STYLE}, SKELETON
    )
    assert report.compared == 3
    assert report.flagged == ()
    assert all(p.similarity < THRESHOLD / 2 for p in report.pairs)


def test_skeleton_code_does_not_make_files_look_alike() -> None:
    # Both keep the whole skeleton (docstrings, signatures, main) and differ only in
    # bodies written independently; without subtracting the skeleton they look alike.
    assert SKELETON is not None
    skeleton = SKELETON.decode()
    stub = 'raise NotImplementedError("create_qkv is not implemented yet")'
    first = skeleton.replace(
        stub, "return inputs @ weights_q, inputs @ weights_k, inputs @ weights_v"
    )
    second = skeleton.replace(
        stub,
        "q = np.einsum('bld,de->ble', inputs, weights_q)\n"
        "    kv = [np.dot(inputs, w) for w in (weights_k, weights_v)]\n"
        "    return (q, kv[0], kv[1])",
    )
    pair = {"first": first.encode(), "second": second.encode()}
    without = compare(pair).pairs[0]
    assert without.flagged
    with_skeleton = compare(pair, SKELETON)
    assert with_skeleton.flagged == ()
    assert all(p.similarity < without.similarity / 2 for p in with_skeleton.pairs)


def test_untouched_skeletons_are_not_compared_rather_than_flagged() -> None:
    assert SKELETON is not None
    report = compare({"a": SKELETON, "b": SKELETON, "c": CORRECT}, SKELETON)
    assert report.skeleton_only == ("a", "b")
    assert report.pairs == () and report.compared == 1


def test_a_copy_with_a_syntax_error_is_still_flagged() -> None:
    broken = CORRECT.replace(b"def main() -> None:", b"def main( -> None:")
    report = compare({"original": CORRECT, "broken": broken}, SKELETON)
    assert report.pairs[0].flagged


def test_idioms_most_of_a_large_class_shares_are_not_evidence() -> None:
    idiom = (
        "def softmax(x):\n"
        "    shifted = x - np.max(x, axis=-1, keepdims=True)\n"
        "    e = np.exp(shifted)\n"
        "    return e / np.sum(e, axis=-1, keepdims=True)\n"
    )
    sources = {
        f"s{i:02d}": (
            f"import numpy as np\n{idiom}\n"
            f"def f(x):\n    return x * {i} + {i * 7} - x ** {i + 2} / {i + 11}\n"
        ).encode()
        for i in range(COMMON_MIN_CLASS)
    }
    report = compare(sources)
    assert report.common_dropped > 0
    assert report.flagged == ()


def test_csv_ranks_pairs_most_similar_first(tmp_path: Path) -> None:
    report = compare(
        {"original": CORRECT, "copy": DISGUISED_COPY, "loop": LOOP_HEADS}, SKELETON
    )
    names = {"copy": "=Ada Lovelace", "original": "Alan Turing"}
    write_csv(report, tmp_path / "similarity.csv", names)
    rows = (tmp_path / "similarity.csv").read_text().splitlines()
    assert rows[0].startswith("rank,submission_a,submission_b,similarity")
    assert rows[1].startswith("1,copy,original,")
    with (tmp_path / "similarity.csv").open() as source:
        first = next(csv.DictReader(source))
    assert first["flagged"] == "yes"
    # students are named where known, every name defused for spreadsheets
    assert (first["students_a"], first["students_b"]) == (
        "'=Ada Lovelace",
        "Alan Turing",
    )
    similarities = [float(row.split(",")[3]) for row in rows[1:]]
    assert similarities == sorted(similarities, reverse=True)


@pytest.fixture
def kept_measurements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.MonkeyPatch]:
    """Measurements kept in a folder of this test's, none in memory."""
    monkeypatch.setattr(similarity, "MEASUREMENTS", tmp_path)
    similarity._kept.cache_clear()
    measured.cache_clear()
    yield monkeypatch
    similarity._kept.cache_clear()
    measured.cache_clear()


def test_a_source_measured_before_is_read_back_not_tokenised_again(
    kept_measurements: pytest.MonkeyPatch,
) -> None:
    sources = {"a": CORRECT, "b": DISGUISED_COPY, "c": LOOP_HEADS}
    first = compare(sources, SKELETON)
    measured.cache_clear()  # a later process: only the disk remembers

    def never(source: bytes) -> list[str]:
        raise AssertionError("tokenised again")

    kept_measurements.setattr(similarity, "normalise", never)
    assert compare(sources, SKELETON) == first
    with pytest.raises(AssertionError, match="tokenised again"):
        measured(CORRECT + f"# {uuid.uuid4()}\n".encode())  # a new text is measured


def test_a_damaged_measurement_is_measured_again(
    kept_measurements: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    right = measured(CORRECT)
    (kept,) = tmp_path.iterdir()
    kept.write_text('{"stream": "x", "prints": ["not a hash"]}')
    measured.cache_clear()
    assert measured(CORRECT) == right
