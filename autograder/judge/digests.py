"""The Otter export's hidden cases: digests of the cells expected values fall in, instead of
the values.
"""

from __future__ import annotations

import hashlib
import math
import struct

from ..contract.functions import FloatArray
from .compare import allowance


def cell_digest(
    values: list[float], offsets: list[float], width: float, salt: str
) -> str:
    """SHA-256 of the cells that ``values`` (shifted by ``offsets``) fall in."""
    digest = hashlib.sha256(salt.encode())
    for value, offset in zip(values, offsets):
        digest.update(struct.pack("<q", math.floor((value + offset) / width)))
    return digest.hexdigest()


def centring_offsets(values: list[float], width: float) -> list[float]:
    """Offsets that move each value to the centre of its cell (used when exporting)."""
    return [(math.floor(v / width) + 0.5) * width - v for v in values]


def cell_width(dtype: str, want: FloatArray, magnitude: float) -> float:
    """Twice the largest allowance for ``want`` (one cell per value: within half a cell
    of the expected value passes)."""
    return 2.0 * float(allowance(dtype, want, magnitude).max())
