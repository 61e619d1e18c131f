"""The only code that runs beside student code, inside the confined child process.

It imports the student's file, then answers call requests from the grader over a pipe.
It imports nothing from the grader, holds no expected values and no other submission, and
everything it sends is treated by the grader as hostile bytes: a JSON header, then raw
numeric array buffers that the grader validates against a dtype whitelist and a size bound.

Frame: 4-byte big-endian header length, UTF-8 JSON header, then the raw bytes of each array
listed in ``header["arrays"]``. Requests arrive on fd 0, replies leave on the fd named by
``argv[3]``; the student's
own stdout and stderr go to a separate pipe the grader drains and never parses.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import sys
import traceback
from types import ModuleType
from typing import Any

SENDABLE_KINDS = "fiucb"  # numeric and boolean dtypes; the grader whitelists further
MAX_SEND_BYTES = 64 << 20
REQUEST_FD = 0


def read_exact(fd: int, size: int) -> bytes:
    """Read exactly ``size`` bytes or raise EOFError."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def send(fd: int, header: dict[str, Any], payloads: list[bytes]) -> None:
    """Write one frame: header then raw array payloads."""
    body = json.dumps(header).encode()
    os.write(fd, struct.pack(">I", len(body)))
    for part in [body, *payloads]:
        view = memoryview(part)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def describe(exc: BaseException, student_file: str) -> dict[str, Any]:
    """Type, message and the student's line for an exception."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == student_file:
            line = frame.lineno
    if isinstance(exc, SyntaxError) and exc.filename == student_file:
        line = exc.lineno
    info: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": str(exc)[:500],
        "line": line,
    }
    if isinstance(exc, ModuleNotFoundError):
        info["module"] = exc.name
    if isinstance(exc, SystemExit):
        info["message"] = f"exit code {exc.code!r}"[:500]
    return info


def main() -> None:
    """Import the student's module and serve call requests until the grader closes fd 0."""
    student_file = sys.argv[1]
    request_fd = os.dup(REQUEST_FD)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, REQUEST_FD)
    reply_fd = int(sys.argv[3])

    import numpy as np

    array_equal = np.array_equal
    ascontiguous = np.ascontiguousarray

    def encode_output(value: object) -> tuple[dict[str, Any], list[bytes]]:
        items = list(value) if isinstance(value, (tuple, list)) else [value]
        kind = type(value).__name__ if isinstance(value, (tuple, list)) else "single"
        metas: list[dict[str, Any]] = []
        payloads: list[bytes] = []
        for item in items[:8]:
            if not isinstance(item, np.ndarray):
                metas.append({"not_array": type(item).__name__})
                continue
            meta: dict[str, Any] = {"dtype": str(item.dtype), "shape": list(item.shape)}
            if item.dtype.kind in SENDABLE_KINDS and item.nbytes <= MAX_SEND_BYTES:
                payloads.append(ascontiguous(item).tobytes())
            else:
                meta["withheld"] = True
            metas.append(meta)
        return {"status": "ok", "kind": kind, "count": len(items), "arrays": metas}, [
            p for p in payloads
        ]

    def decode_args(header: dict[str, Any]) -> list[object]:
        arrays = []
        for meta in header["arrays"]:
            dtype = np.dtype(meta["dtype"])
            count = 1
            for dim in meta["shape"]:
                count *= int(dim)
            raw = read_exact(request_fd, count * dtype.itemsize)
            arrays.append(np.frombuffer(raw, dtype=dtype).reshape(meta["shape"]).copy())
        args: list[object] = []
        for arg in header["args"]:
            if "array" in arg:
                args.append(arrays[arg["array"]])
            elif "int" in arg:
                args.append(int(arg["int"]))
            else:
                args.append(float(arg["float"]))
        return args

    module: ModuleType | None = None
    try:
        spec = importlib.util.spec_from_file_location("mhsa", student_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {student_file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["mhsa"] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: B036 - report everything, SystemExit included
        send(
            reply_fd,
            {"status": "import_error", "error": describe(exc, student_file)},
            [],
        )
        return
    found = {
        name: callable(getattr(module, name, None)) for name in json.loads(sys.argv[2])
    }
    send(reply_fd, {"status": "ready", "functions": found}, [])

    while True:
        try:
            size = struct.unpack(">I", read_exact(request_fd, 4))[0]
        except EOFError:
            return
        header = json.loads(read_exact(request_fd, size))
        args = decode_args(header)
        before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        try:
            result = getattr(module, header["function"])(*args)
        except (
            BaseException
        ) as exc:  # noqa: B036 - report everything, SystemExit included
            send(
                reply_fd, {"status": "raised", "error": describe(exc, student_file)}, []
            )
            continue
        modified = [
            index
            for index, (old, new) in enumerate(zip(before, args))
            if isinstance(old, np.ndarray)
            and not array_equal(old, new, equal_nan=True)  # type: ignore[arg-type]
        ]
        try:
            reply, payloads = encode_output(result)
        except BaseException as exc:  # noqa: B036 - a hostile __len__ or __iter__
            send(
                reply_fd, {"status": "raised", "error": describe(exc, student_file)}, []
            )
            continue
        reply["modified"] = modified
        send(reply_fd, reply, payloads)


if __name__ == "__main__":
    main()
