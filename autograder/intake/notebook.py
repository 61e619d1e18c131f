"""Turn a Jupyter notebook into the Python script that is graded: its code cells, top to bottom.

The notebook is read with nbformat (any format version, converted to v4). Every code cell
becomes part of one script, in order, exactly as the student wrote it, except for lines only
IPython understands, which plain Python cannot run:

- a cell magic cell (first line ``%%time``, ``%%bash``, ...) is left out whole;
- a line magic or shell escape that starts a statement (``%matplotlib inline``,
  ``!pip install numpy``, ``files = !ls``, ``x = %timeit f()``) and an IPython help request
  (``np.matmul?``, ``?np.matmul``) become ``pass`` at the same indentation, so the lines
  around them keep their meaning and their numbers.

What was dropped is recorded, so feedback can say so, and a ``LineMap`` records the cell and
line each script line came from, so feedback can name "line 2 of cell 5".

Public API (the handout's ``check.py`` uses it too, when nbformat is installed)::

    notebook_to_script(data: bytes) -> NotebookScript(text, line_map, dropped)

raising ``NotebookError`` (a ``ValueError``) with a plain reason for an unreadable notebook.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from autograder.contract.source_text import LineMap

CELL_MAGIC = re.compile(r"^\s*%%")
# A statement IPython rewrites: a magic or shell escape, possibly assigned to names.
LINE_MAGIC = re.compile(r"^\s*(?:[\w.,\s\[\]()*]+=\s*)?[%!]")
HELP_REQUEST = re.compile(r"^\s*(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")
SHOWN_DROPPED = 80  # characters of a dropped line kept in its description


class NotebookError(ValueError):
    """The bytes are not a notebook that can be graded; the message says why."""


@dataclass(frozen=True)
class NotebookScript:
    """The script built from a notebook's code cells.

    ``dropped`` describes each left-out piece ("cell 1, line 1: `%matplotlib inline`").
    """

    text: str
    line_map: LineMap
    dropped: tuple[str, ...]


def notebook_to_script(data: bytes) -> NotebookScript:
    """The script of a notebook's code cells; ``NotebookError`` when it cannot be read."""
    cells = _code_cells(data)
    lines: list[str] = []
    origins: list[tuple[int, int]] = []
    dropped: list[str] = []
    for number, source in cells:
        cell_lines = source.splitlines()
        if cell_lines and CELL_MAGIC.match(cell_lines[0]):
            dropped.append(f"cell {number}: the whole `{_shown(cell_lines[0])}` cell")
            continue
        for within, line in _without_ipython(cell_lines, number, dropped):
            lines.append(line)
            origins.append((number, within))
    text = "".join(line + "\n" for line in lines)
    return NotebookScript(text, LineMap(tuple(origins)), tuple(dropped))


def describe_dropped(dropped: tuple[str, ...], limit: int = 3) -> str:
    """One sentence for feedback naming what the script left out (empty when nothing)."""
    if not dropped:
        return ""
    shown = "; ".join(dropped[:limit])
    more = f"; and {len(dropped) - limit} more" if len(dropped) > limit else ""
    return (
        f"Your notebook was graded from its code cells, run top to bottom as one Python "
        f"file. IPython-only lines, which plain Python cannot run, were left out: "
        f"{shown}{more}."
    )


def _code_cells(data: bytes) -> list[tuple[int, str]]:
    """(cell number counting every cell from 1, source) of each code cell."""
    import logging  # imported here: only a batch holding a notebook pays for these

    import nbformat

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(
            f"the notebook is not UTF-8 text (byte {exc.start})"
        ) from exc
    quiet = logging.getLogger("traitlets")  # nbformat logs schema problems there
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        notebook = nbformat.reads(  # type: ignore[no-untyped-call]
            text, as_version=4, capture_validation_error={}
        )
        cells = list(notebook.get("cells", []))
        code = [
            (number, _source(cell))
            for number, cell in enumerate(cells, start=1)
            if isinstance(cell, dict) and cell.get("cell_type") == "code"
        ]
    except NotebookError:
        raise
    except Exception as exc:  # nbformat's and json's errors, and odd shapes of JSON
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise NotebookError(f"the notebook cannot be read ({reason})") from exc
    finally:
        quiet.setLevel(level)
    if not code:
        raise NotebookError("the notebook has no code cells")
    return code


def _source(cell: dict[str, object]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    if not isinstance(source, str):
        raise NotebookError("a code cell's source is not text")
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _without_ipython(
    cell_lines: list[str], number: int, dropped: list[str]
) -> list[tuple[int, str]]:
    """The cell's lines, each IPython-only statement replaced by ``pass``."""
    kept: list[str] = []
    for within, line in enumerate(cell_lines, start=1):
        looks_ipython = LINE_MAGIC.match(line) or HELP_REQUEST.match(line)
        if looks_ipython and _starts_statement(kept):
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(f"{indent}pass")
            dropped.append(f"cell {number}, line {within}: `{_shown(line)}`")
        else:
            kept.append(line)
    return list(enumerate(kept, start=1))


def _starts_statement(before: list[str]) -> bool:
    """Whether a line after ``before`` begins a new statement (not inside brackets, a
    string or a backslash continuation), which is where IPython looks for magics."""
    try:
        for _ in tokenize.generate_tokens(
            io.StringIO("\n".join(before) + "\n").readline
        ):
            pass
    except (tokenize.TokenError, SyntaxError):
        return False
    return True


def _shown(line: str) -> str:
    flat = " ".join(line.split()).replace("`", "'")
    return flat if len(flat) <= SHOWN_DROPPED else flat[: SHOWN_DROPPED - 3] + "..."
