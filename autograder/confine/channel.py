"""The grader's side of the pipe to a confined child: typed frames, hostile-byte checks.

Nothing read here is unpickled or evaluated. A reply is a bounded JSON header followed by
raw array buffers; a buffer is read only when its dtype is whitelisted and its size is within
the bound the caller derived from the expected shape.

This is where the child's words enter the grader: every string of a header goes through
``untrusted.safe_text`` as it is parsed, integers are bounded, and a name the grader may
repeat (a dtype, the type of a returned object) is replaced by one of the grader's own
words. Refusals carry fixed sentences: a number the child chose never reaches a message.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import re
import select
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.confine.untrusted import safe_text
from autograder.contract.functions import FloatArray
from autograder.contract.words import OWN_CLASS

ACCEPTED_DTYPES = frozenset({"float64", "float32"})
MAX_HEADER_DEPTH = 6  # a reply header nests three levels; anything deeper is forged
MAX_INT_DIGITS = 20  # every integer the grader expects fits in 64 bits
MAX_TEXT = 1000  # characters kept of any one string from the child
# Words the grader may repeat about a returned value: numpy's dtype names, and the names of
# built-in and numpy types a function might return instead of an array. Anything else the
# child names is replaced by ``OTHER_DTYPE`` or ``OWN_CLASS``.
DTYPE_NAMES = frozenset(np.dtype(code).name for code in np.typecodes["All"])
OTHER_DTYPE = "unsupported"
TYPE_NAMES = frozenset(
    {name for name, value in vars(builtins).items() if isinstance(value, type)}
    | {type(value).__name__ for value in np.sctypeDict.values()}
    | {value.__name__ for value in np.sctypeDict.values()}
    | {"NoneType", "generator", "function", "builtin_function_or_method", "method"}
    | {"module", "dict_keys", "dict_values", "dict_items", "list_iterator"}
)


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
    """Read one bounded JSON header (a dict) from the child, its strings made safe."""
    (size,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    if size > max_bytes:
        raise ProtocolViolation("the reply's header is larger than allowed")
    try:
        header = json.loads(
            _read_exact(fd, size, deadline),
            parse_int=_bounded_int,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd nesting
        raise ProtocolViolation("the reply's header is not JSON") from exc
    if not isinstance(header, dict):
        raise ProtocolViolation("the reply's header is not an object")
    made_safe = _made_safe(header, 0)
    assert isinstance(made_safe, dict)
    return made_safe


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ProtocolViolation("the reply holds an implausible number")
    return int(digits)


def _no_constant(name: str) -> float:
    raise ProtocolViolation("the reply holds NaN or Infinity outside an array")


def _made_safe(value: object, depth: int) -> object:
    """``value`` with every string (keys too) passed through ``safe_text``."""
    if depth > MAX_HEADER_DEPTH:
        raise ProtocolViolation("the reply's header is nested too deeply")
    if isinstance(value, str):
        return safe_text(value, MAX_TEXT)
    if isinstance(value, list):
        return [_made_safe(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            safe_text(key, MAX_TEXT): _made_safe(item, depth + 1)
            for key, item in value.items()
        }
    return value


def dtype_word(raw: object) -> str:
    """The grader's name for a dtype the child named: numpy's own, or ``OTHER_DTYPE``."""
    if not isinstance(raw, str):
        return OTHER_DTYPE
    name = re.sub(r"\[\w+\]$", "", raw)  # datetime64[ns] -> datetime64
    if name in DTYPE_NAMES:
        return name
    kind = re.fullmatch(r"(str|bytes|void)\d*", name)
    return kind.group(1) if kind else OTHER_DTYPE


def type_word(raw: object) -> str:
    """The grader's name for the type of a returned object: a built-in or numpy type's
    name, or ``OWN_CLASS`` (a class name is free text a submission could fill with data).
    """
    return raw if isinstance(raw, str) and raw in TYPE_NAMES else OWN_CLASS


def parse_meta(raw: object) -> ArrayMeta:
    """Validate one array description from the child."""
    if not isinstance(raw, dict):
        raise ProtocolViolation("an array description is not an object")
    if "not_array" in raw:
        return ArrayMeta(None, None, not_array=type_word(raw["not_array"]))
    dtype, shape = raw.get("dtype"), raw.get("shape")
    if not isinstance(dtype, str) or not isinstance(shape, list):
        raise ProtocolViolation("an array description lacks its dtype or shape")
    if len(shape) > 32 or not all(type(d) is int and 0 <= d < 1 << 62 for d in shape):
        raise ProtocolViolation("an array description has an implausible shape")
    withheld = bool(raw.get("withheld")) or dtype not in ACCEPTED_DTYPES
    too_large = not withheld and raw.get("too_large") is True
    return ArrayMeta(
        dtype_word(dtype), tuple(shape), withheld=withheld, too_large=too_large
    )


def read_arrays(
    fd: int, metas: list[ArrayMeta], deadline: float, max_bytes: int
) -> list[FloatArray | None]:
    """Read the buffers announced by ``metas``; None for values that carry no buffer.

    Raises ProtocolViolation before reading anything when the announced total exceeds
    ``max_bytes`` (the caller's bound from the expected shapes).
    """
    total = sum(meta.nbytes for meta in metas)
    if total > max_bytes:
        raise ProtocolViolation("the reply announced more data than was asked for")
    for meta in metas:
        if meta.too_large and meta.dtype is not None and meta.shape is not None:
            real = math.prod(meta.shape) * np.dtype(meta.dtype).itemsize
            if real <= max_bytes:
                raise ProtocolViolation("an array marked too large to send is not")
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
