"""Read a Python file's bytes as the interpreter does, and name places in it for students.

Standard library only: the handout's self-check ships this very module, so the grader and
``check.py`` decode every file the same way. Decoding follows Python's own import
(``importlib.util.decode_source``): a UTF-8 byte-order mark, a PEP 263 coding declaration,
and CRLF, CR-only or LF line endings are all accepted; a file Python itself could not decode
is refused with the line of the first bad byte.

A notebook is graded from a script made of its code cells; ``LineMap`` says which cell and
line of the notebook each script line came from, so feedback can point there.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

LINE_BREAK = re.compile(rb"\r\n|\r|\n")


class SourceDecodeError(ValueError):
    """The bytes are not a Python file the interpreter could read; the message says why."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def _line_of(data: bytes, offset: int) -> int:
    """1-based line of byte ``offset``, counting every kind of line ending once."""
    return len(LINE_BREAK.findall(data[:offset])) + 1


def decode_source(data: bytes) -> str:
    """The text Python would compile from ``data``, with ``\\n`` line endings.

    Raises ``SourceDecodeError`` where Python would refuse the file.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown codec, or a BOM contradicting the cookie
        raise SourceDecodeError(
            f"the file's coding declaration cannot be used ({exc.msg}); "
            "save the file as UTF-8 and remove the `# coding:` line",
            None,
        ) from exc
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    offset = len(data) - len(body)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = _line_of(data, offset + exc.start)
        declared = "UTF-8" if encoding in ("utf-8", "utf-8-sig") else encoding
        raise SourceDecodeError(
            f"line {line} holds a byte that is not valid {declared} "
            f"(byte 0x{body[exc.start]:02x}); save the file as UTF-8",
            line,
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class LineMap:
    """Where each line of a script built from a notebook came from: (cell, line in cell).

    ``origins[i]`` describes script line ``i + 1``; cells are numbered from 1 in the order a
    reader sees them, counting every cell (code or not), as Jupyter's interface shows them.
    """

    origins: tuple[tuple[int, int], ...]

    def describe(self, line: int) -> str:
        """ "line 3 of cell 5" for a script line, or "line N" when it maps nowhere."""
        if 1 <= line <= len(self.origins):
            cell, within = self.origins[line - 1]
            return f"line {within} of cell {cell}"
        return f"line {line}"


_current_map: ContextVar[LineMap | None] = ContextVar("line_map", default=None)


@contextmanager
def reading(line_map: LineMap | None) -> Iterator[None]:
    """Name lines through ``line_map`` (a notebook's) while one submission is handled."""
    token = _current_map.set(line_map)
    try:
        yield
    finally:
        _current_map.reset(token)


def line_ref(line: int) -> str:
    """How feedback names a line of the student's file: "line 12", or, for a notebook,
    "line 4 of cell 3". Every message that names a line goes through here."""
    line_map = _current_map.get()
    return line_map.describe(line) if line_map else f"line {line}"
