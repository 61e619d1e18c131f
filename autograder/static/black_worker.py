"""The formatting check's worker process: black runs here, never in the grader.

``static.BlackRun`` starts one per batch (``python -I -c <this file>``) under a memory
limit, sends it one submission's text at a time and waits for each answer under a
deadline; a text that takes longer gets its worker killed and the next text a fresh one.
Frames both ways are ``channel``'s: a 4-byte big-endian length, then a JSON object
(``{"text": ...}`` in, ``{"unchanged": ..., "changed": ...}`` or ``{"error": ...}`` out);
the worker first says ``{"ready": true}`` once black is imported.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from collections.abc import Callable


def read_exact(fd: int, size: int) -> bytes:
    """Exactly ``size`` bytes from ``fd``, or EOFError when the grader closed it."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def one_pass() -> Callable[..., str]:
    """black's formatting pass, run once.

    ``black.format_str`` runs it a second time on a file it changed (for magic trailing
    commas), which cannot change the verdict (a file is unchanged exactly when the first
    pass leaves it so) and cost about a quarter of black's time on a class; the line count
    came out the same on the bundled, real-world and generated files
    (``tests/test_static_phase.py``). black 26 names it ``_format_str_once``; a black
    without it gets ``format_str``.
    """
    import black

    once: Callable[..., str] | None = getattr(black, "_format_str_once", None)
    return once or black.format_str


def answer(text: str) -> dict[str, object]:
    """Whether black would leave ``text`` unchanged, and about how many lines it changes."""
    from black.mode import Mode, TargetVersion

    try:
        formatted = one_pass()(text, mode=Mode(target_versions={TargetVersion.PY310}))
    except Exception as exc:  # black's own parser may reject odd but valid code
        return {"error": type(exc).__name__}
    changed = sum(
        1 for a, b in zip(text.splitlines(), formatted.splitlines()) if a != b
    )
    return {"unchanged": formatted == text, "changed": changed}


def send(fd: int, message: dict[str, object]) -> None:
    """One frame to the grader."""
    body = json.dumps(message).encode()
    data = memoryview(struct.pack(">I", len(body)) + body)
    while data:
        data = data[os.write(fd, data) :]


def main() -> None:
    """Answer texts from stdin on stdout until the grader closes stdin."""
    import black  # noqa: F401 - imported before the first text, outside its deadline

    reply = sys.stdout.fileno()
    send(reply, {"ready": True})
    while True:
        try:
            (size,) = struct.unpack(">I", read_exact(0, 4))
            request = json.loads(read_exact(0, size))
        except EOFError:
            return
        send(reply, answer(request["text"]))


if __name__ == "__main__":
    main()
