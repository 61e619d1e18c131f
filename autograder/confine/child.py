"""The only code that runs beside student code, inside the confined child process.

It imports the student's file, then answers call requests from the grader over a pipe.
It imports nothing from the grader, holds no expected values and no other submission, and
everything it sends is treated by the grader as hostile bytes: a JSON header, then raw
numeric array buffers that the grader validates against a dtype whitelist and a size bound.

Frame: 4-byte big-endian header length, UTF-8 JSON header, then the raw bytes of each array
listed in ``header["arrays"]``. Requests arrive on fd 0, replies leave on the fd named by
``argv[3]``. The first reply, ``started``, comes once the student's file is readable and
before it runs, so the grader can tell its own faults from the file's. The student's
own stdout and stderr go to a separate pipe the grader drains and never parses.
"""

from __future__ import annotations

import ctypes
import dis
import importlib.util
import json
import os
import struct
import sys
from types import ModuleType
from typing import Any

# Bound now, before the student's module can replace them in their modules.
_write, _read, _dumps, _loads, _pack = (
    os.write,
    os.read,
    json.dumps,
    json.loads,
    struct.pack,
)
_unpack = struct.unpack

# The dtypes the grader reads (channel.ACCEPTED_DTYPES); any other is described, not sent.
SENDABLE_DTYPES = ("float64", "float32")
MAX_SEND_BYTES = 64 << 20
REQUEST_FD = 0
PR_SET_PDEATHSIG = 1
# The byte of a ``raise`` statement's instruction (read at the offset a traceback names).
RAISE_OPCODE = bytes([dis.opmap["RAISE_VARARGS"]])


def read_exact(fd: int, size: int) -> bytes:
    """Read exactly ``size`` bytes or raise EOFError."""
    chunks: list[bytes] = []
    while size:
        chunk = _read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def send(fd: int, header: dict[str, Any], payloads: list[bytes]) -> None:
    """Write one frame: header then raw array payloads."""
    body = _dumps(header).encode()
    for part in [_pack(">I", len(body)), body, *payloads]:
        view = memoryview(part)
        while view:
            written = _write(fd, view)
            view = view[written:]


def safe_text(value: object, limit: int = 500) -> str:
    """``str(value)`` cut to ``limit``, or a placeholder when the student's __str__ fails."""
    try:
        return str(value)[:limit]
    except BaseException:  # noqa: B036 - a hostile __str__ must not end the child
        return "(message could not be shown)"


def describe(exc: BaseException, student_file: str) -> dict[str, Any]:
    """Type, message and where in the student's file an exception was raised.

    ``line`` and ``function`` name the innermost frame of the student's file the exception
    passed; ``raised_here`` is True when that frame is where it started and the
    instruction there is a ``raise`` (a check of the student's own, not numpy's reshape
    or an operation like ``//`` failing on that line).
    """
    line = function = None
    raised_here = False
    try:
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == student_file:
                line, function = tb.tb_lineno, code.co_name
                raised_here = tb.tb_next is None and (
                    code.co_code[tb.tb_lasti : tb.tb_lasti + 1] == RAISE_OPCODE
                )
            tb = tb.tb_next
    except BaseException:  # noqa: B036 - a corrupted traceback: no place
        line = function = None
        raised_here = False
    if isinstance(exc, SyntaxError) and exc.filename == student_file:
        line = exc.lineno if type(exc.lineno) is int else None
    info: dict[str, Any] = {
        "type": safe_text(type(exc).__name__, 100),
        "message": safe_text(exc),
        "line": line if type(line) is int else None,
        "function": safe_text(function, 100) if type(function) is str else None,
        "raised_here": raised_here is True,
    }
    if isinstance(exc, ModuleNotFoundError):
        info["module"] = safe_text(exc.name, 100)
    if isinstance(exc, SystemExit):
        info["message"] = "exit code " + safe_text(repr(exc.code))
    return info


def die_with_grader() -> None:
    """Ask for SIGKILL when the grader dies (a uid change cleared the earlier request)."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the grader died before the request took effect
        os._exit(1)


def main() -> None:
    """Import the student's module and serve call requests until the grader closes fd 0."""
    die_with_grader()
    student_file = sys.argv[1]
    os.chdir(os.path.dirname(student_file))  # the private folder holding only this file
    request_fd = os.dup(REQUEST_FD)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, REQUEST_FD)
    os.close(devnull)
    reply_fd = int(sys.argv[3])

    import numpy as np

    # Taken before the student's module can replace them.
    array_equal = np.array_equal
    ascontiguous = np.ascontiguousarray
    ndarray_view = np.ndarray.view

    # numpy computes a dtype's name in Python, on every call: each dtype met is
    # described once (its name, and the native-order dtype it is sent in, if sendable).
    descriptions: dict[Any, tuple[str, Any]] = {}

    def described(dtype: Any) -> tuple[str, Any]:
        known = descriptions.get(dtype)
        if known is None:
            name = safe_text(dtype.name, 40)
            native = dtype.newbyteorder("=") if name in SENDABLE_DTYPES else None
            known = descriptions[dtype] = (name, native)
        return known

    def unchanged(old: Any, new: Any) -> bool:
        """Whether an argument still holds what the grader sent: the same bytes as the
        same dtype and shape (the usual case, and cheap), else equal values."""
        if (
            type(new) is np.ndarray
            and new.dtype == old.dtype
            and new.shape == old.shape
            and new.tobytes() == old.tobytes()
        ):
            return True
        return bool(array_equal(old, new, equal_nan=True))

    def encode_output(
        value: object, max_bytes: int
    ) -> tuple[dict[str, Any], list[bytes]]:
        items = list(value) if isinstance(value, (tuple, list)) else [value]
        kind = (
            "tuple"
            if isinstance(value, tuple)
            else "list" if isinstance(value, list) else "single"
        )
        metas: list[dict[str, Any]] = []
        payloads: list[bytes] = []
        for item in items[:8]:
            if not issubclass(
                type(item), np.ndarray
            ):  # type() ignores a fake __class__
                metas.append({"not_array": safe_text(type(item).__name__, 80)})
                continue
            # A subclass may lie through properties: describe the plain ndarray it wraps.
            real: Any = item
            array = ndarray_view(real, np.ndarray)
            name, native = described(array.dtype)
            meta: dict[str, Any] = {
                "dtype": name,
                "shape": [int(d) for d in array.shape],
            }
            sent = sum(len(p) for p in payloads)
            if native is None:
                meta["withheld"] = True
            elif sent + array.nbytes > max_bytes:
                meta["too_large"] = (
                    True  # the grader would refuse it: send the shape only
                )
            else:  # sent in native byte order, under the same name (names carry none)
                payloads.append(ascontiguous(array, dtype=native).tobytes())
            metas.append(meta)
        return {
            "status": "ok",
            "kind": kind,
            "count": len(items),
            "arrays": metas,
        }, payloads

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

    # The grader's part ends here: the file is readable. Say so before it runs, so a
    # death before this frame is the grader's fault and one after it the file's.
    with open(student_file, "rb") as readable:
        readable.read(1)
    send(reply_fd, {"status": "started"}, [])
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
    found: dict[str, bool] = {}
    for name in _loads(sys.argv[2]):
        try:
            found[name] = callable(getattr(module, name, None))
        except BaseException:  # noqa: B036 - a module __getattr__ that raises
            found[name] = False
    send(reply_fd, {"status": "ready", "functions": found}, [])

    while True:
        try:
            size = _unpack(">I", read_exact(request_fd, 4))[0]
        except EOFError:
            return
        header = _loads(read_exact(request_fd, size))
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
        try:
            modified = [
                index
                for index, (old, new) in enumerate(zip(before, args))
                if isinstance(old, np.ndarray) and not unchanged(old, new)
            ]
            limit = header.get("max_bytes", MAX_SEND_BYTES)
            reply, payloads = encode_output(result, min(int(limit), MAX_SEND_BYTES))
        except BaseException as exc:  # noqa: B036 - a hostile __len__ or __iter__
            send(
                reply_fd, {"status": "raised", "error": describe(exc, student_file)}, []
            )
            continue
        reply["modified"] = modified
        send(reply_fd, reply, payloads)


if __name__ == "__main__":
    main()
