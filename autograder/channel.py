"""The grader's side of the pipe to a confined child: typed frames, hostile-byte checks.

Nothing read here is unpickled or evaluated. A reply is a bounded JSON header followed by
raw array buffers; a buffer is read only when its dtype is whitelisted and its size is within
the bound the caller derived from the expected shape.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

ACCEPTED_DTYPES = frozenset({"float64", "float32"})
FloatArray = npt.NDArray[np.floating[Any]]


class ChannelTimeout(Exception):
    """The child did not answer before the deadline."""


class ChannelClosed(Exception):
    """The child closed its end (it exited or was killed)."""


class ProtocolViolation(Exception):
    """The child sent bytes that are not a well-formed reply."""


@dataclass(frozen=True)
class ArrayMeta:
    """What the child says about one returned value, before any buffer is read."""

    dtype: str | None
    shape: tuple[int, ...] | None
    not_array: str | None = None
    withheld: bool = False  # a dtype off the whitelist: no buffer follows
    too_large: bool = False  # over the grader's size bound: no buffer follows

    @property
    def nbytes(self) -> int:
        """Size of the buffer that follows, zero when none follows (exact, no overflow)."""
        if self.dtype is None or self.shape is None or self.withheld or self.too_large:
            return 0
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelTimeout
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise ChannelTimeout
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise ChannelClosed
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_header(fd: int, deadline: float, max_bytes: int) -> dict[str, Any]:
    """Read one bounded JSON header (a dict) from the child."""
    (size,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    if size > max_bytes:
        raise ProtocolViolation(f"header of {size} bytes")
    try:
        header = json.loads(_read_exact(fd, size, deadline))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd nesting
        raise ProtocolViolation("header is not JSON") from exc
    if not isinstance(header, dict):
        raise ProtocolViolation("header is not an object")
    return header


def parse_meta(raw: object) -> ArrayMeta:
    """Validate one array description from the child."""
    if not isinstance(raw, dict):
        raise ProtocolViolation("array description is not an object")
    if "not_array" in raw:
        name = " ".join(str(raw["not_array"]).split())[:80].replace("`", "'")
        return ArrayMeta(None, None, not_array=name.replace("<", "&lt;"))
    dtype, shape = raw.get("dtype"), raw.get("shape")
    if not isinstance(dtype, str) or not isinstance(shape, list):
        raise ProtocolViolation("array description lacks dtype or shape")
    if len(shape) > 32 or not all(type(d) is int and 0 <= d < 1 << 62 for d in shape):
        raise ProtocolViolation("implausible shape")
    withheld = bool(raw.get("withheld")) or dtype not in ACCEPTED_DTYPES
    shown = (
        dtype
        if dtype in ACCEPTED_DTYPES
        else "".join(c for c in dtype[:20] if c.isascii() and c.isalnum())
    )
    too_large = not withheld and raw.get("too_large") is True
    return ArrayMeta(shown, tuple(shape), withheld=withheld, too_large=too_large)


def read_arrays(
    fd: int, metas: list[ArrayMeta], deadline: float, max_bytes: int
) -> list[FloatArray | None]:
    """Read the buffers announced by ``metas``; None for values that carry no buffer.

    Raises ProtocolViolation before reading anything when the announced total exceeds
    ``max_bytes`` (the caller's bound from the expected shapes).
    """
    total = sum(meta.nbytes for meta in metas)
    if total > max_bytes:
        raise ProtocolViolation(
            f"{float(total):.3g} bytes announced, at most {max_bytes} accepted"
        )
    for meta in metas:
        if meta.too_large and meta.dtype is not None and meta.shape is not None:
            real = math.prod(meta.shape) * np.dtype(meta.dtype).itemsize
            if real <= max_bytes:
                raise ProtocolViolation("an array marked too large is not")
    arrays: list[FloatArray | None] = []
    for meta in metas:
        if meta.nbytes == 0 and (meta.dtype is None or meta.withheld or meta.too_large):
            arrays.append(None)
            continue
        assert meta.dtype is not None and meta.shape is not None
        raw = _read_exact(fd, meta.nbytes, deadline)
        array = np.frombuffer(raw, dtype=np.dtype(meta.dtype)).reshape(meta.shape)
        array.flags.writeable = False
        arrays.append(array)
    return arrays


def write_frame(
    fd: int, header: dict[str, Any], payloads: list[bytes], deadline: float
) -> None:
    """Send one request frame to the child; a child that stops reading times out.

    ``fd`` must be non-blocking, so a hostile child cannot stall the grader on a full pipe.
    """
    body = json.dumps(header).encode()
    data = b"".join([struct.pack(">I", len(body)), body, *payloads])
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelTimeout
        _, ready, _ = select.select([], [fd], [], remaining)
        if not ready:
            raise ChannelTimeout
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        except BrokenPipeError as exc:
            raise ChannelClosed from exc
        view = view[written:]
