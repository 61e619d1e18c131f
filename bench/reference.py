"""Time the reference's float32 multi-head attention, and PyTorch's, in one process.

Run as ``python -m bench.reference [--size B,L,D,H]``; prints one JSON object: the BLAS
library and kernel threadpoolctl saw, the reference's median and best times, and PyTorch's (its
``scaled_dot_product_attention`` plus the same projections) when torch is importable.
``bench.run`` calls it in a subprocess, once with the environment as it is and once with
pinned ``OPENBLAS_*`` variables removed, so the effect of a pinned kernel is visible.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from solution.mhsa import multi_head_attention, scaled_dot_product_attention

REPEATS = 15
Timed = Callable[[], object]


def seconds(work: Timed, repeats: int = REPEATS) -> dict[str, float]:
    """Median and best wall time of ``work`` after one warm-up call.

    The best run is the least disturbed by other processes (OpenBLAS's two threads wait
    for each other whenever one is descheduled), so ratios are taken between best runs.
    """
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return {"median": statistics.median(times), "best": min(times)}


def blas_description() -> dict[str, Any]:
    """Which BLAS numpy loaded, with which kernel and thread count (threadpoolctl)."""
    # Imported by name: threadpoolctl ships no type information, and mypy need not see it.
    threadpoolctl = importlib.import_module("threadpoolctl")
    for pool in threadpoolctl.threadpool_info():
        if pool.get("user_api") == "blas":
            return {
                "library": f"{pool.get('internal_api')} {pool.get('version')}",
                "kernel": pool.get("architecture") or "unknown",
                "threads": pool.get("num_threads"),
            }
    return {"library": "unknown", "kernel": "unknown", "threads": None}


def measure(batch: int, length: int, width: int, heads: int) -> dict[str, Any]:
    """The figures for one problem size, float32 throughout."""
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((batch, length, width), dtype=np.float32)
    wq, wk, wv = (
        (rng.standard_normal((width, width)) / math.sqrt(width)).astype(np.float32)
        for _ in range(3)
    )
    hd = width // heads
    q, k, v = (
        rng.standard_normal((batch, heads, length, hd), dtype=np.float32)
        for _ in range(3)
    )
    output = multi_head_attention(inputs, wq, wk, wv, heads)
    figures: dict[str, Any] = {
        "size": [batch, length, width, heads],
        "pinned": {
            key: value
            for key, value in os.environ.items()
            if key.startswith("OPENBLAS")
        },
        "blas": blas_description(),
        "dtype_kept": str(output.dtype),
        "reference": seconds(lambda: multi_head_attention(inputs, wq, wk, wv, heads)),
        "reference_sdpa": seconds(
            lambda: scaled_dot_product_attention(q, k, v, 1.0 / math.sqrt(hd))
        ),
    }
    try:  # by name, so that mypy never analyses PyTorch (and lint works without it)
        torch = importlib.import_module("torch")
    except ImportError as exc:
        figures["torch"] = f"PyTorch not importable ({exc}): ratio skipped"
        return figures
    sdpa = torch.nn.functional.scaled_dot_product_attention
    x = torch.from_numpy(inputs)
    weights = [torch.from_numpy(w) for w in (wq, wk, wv)]
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))

    def torch_mha() -> Any:
        with torch.inference_mode():
            q_, k_, v_ = (
                (x @ w).view(batch, length, heads, hd).transpose(1, 2) for w in weights
            )  # (B, h, L, hd) each
            y = sdpa(q_, k_, v_)  # scale 1/sqrt(hd) by default, as the reference's
            return y.transpose(1, 2).reshape(batch, length, width)  # (B, L, D)

    def torch_sdpa() -> Any:
        with torch.inference_mode():
            return sdpa(tq, tk, tv, scale=1.0 / math.sqrt(hd))

    agreement = float(np.max(np.abs(torch_mha().numpy() - output)))
    figures["torch"] = {
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mha": seconds(torch_mha),
        "sdpa": seconds(torch_sdpa),
        "max_abs_difference": agreement,
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures as one JSON object on stdout."""
    parser = argparse.ArgumentParser(prog="python -m bench.reference")
    parser.add_argument("--size", default="4,512,512,8", help="B,L,D,heads")
    args = parser.parse_args(argv)
    batch, length, width, heads = (int(part) for part in args.size.split(","))
    print(json.dumps(measure(batch, length, width, heads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
