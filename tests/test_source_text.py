"""Files are read as Python reads them, and lines are named the way feedback names them."""

from __future__ import annotations

import pytest

from autograder.contract.source_text import (
    LineMap,
    SourceDecodeError,
    decode_source,
    line_ref,
    reading,
)
from autograder.static.read import read_submission

BODY = "import numpy as np\n\n\ndef f(x: int) -> int:\n    return x  # café\n"


@pytest.mark.parametrize(
    "data",
    [
        BODY.encode(),
        b"\xef\xbb\xbf" + BODY.encode(),
        BODY.replace("\n", "\r\n").encode(),
        BODY.replace("\n", "\r").encode(),
        ("# -*- coding: latin-1 -*-\n" + BODY).encode("latin-1"),
        ("# vim: set fileencoding=cp1252 :\n" + BODY).encode("cp1252"),
    ],
    ids=["utf8", "bom", "crlf", "cr", "latin1-cookie", "cp1252-cookie"],
)
def test_every_file_python_runs_decodes_to_the_same_lines(data: bytes) -> None:
    text = decode_source(data)
    compile(data, "mhsa.py", "exec")  # Python itself accepts the bytes
    assert text.endswith(BODY)
    assert "\r" not in text
    assert read_submission(data, black=False).fatal is None


def test_a_byte_python_cannot_decode_is_named_with_its_line() -> None:
    data = b"x = 1\r\ny = 2\r\nz = '\xff'\r\n"
    with pytest.raises(SyntaxError):
        compile(data, "mhsa.py", "exec")
    with pytest.raises(SourceDecodeError) as caught:
        decode_source(data)
    assert caught.value.line == 3
    assert "line 3" in str(caught.value)
    report = read_submission(data, black=False)
    assert report.fatal_kind == "encoding" and "line 3" in (report.fatal or "")


def test_an_unknown_coding_declaration_is_refused_plainly() -> None:
    with pytest.raises(SourceDecodeError, match="coding declaration"):
        decode_source(b"# coding: klingon\nx = 1\n")


def test_lines_are_named_by_cell_only_inside_a_notebook() -> None:
    notebook = LineMap(((1, 1), (1, 2), (3, 1)))
    assert line_ref(3) == "line 3"
    with reading(notebook):
        assert line_ref(3) == "line 1 of cell 3"
        assert line_ref(9) == "line 9"
    assert line_ref(3) == "line 3"
