"""CSV files that spreadsheets open safely: the kit's one writer for every CSV in OUT.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is read
by Excel, LibreOffice and Google Sheets as a formula; names, file names and messages come
from students or metadata, so every text cell is defused with a leading ``'``. Files are
written whole to a temporary name and then renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Defuse a cell a spreadsheet would read as a formula (a student's name is data)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(
    path: Path, columns: Sequence[str], rows: Iterable[Sequence[str | int | float]]
) -> None:
    """Write ``rows`` under ``columns``; text cells defused, numbers as they are."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.writer(sink)
        writer.writerow([spreadsheet_safe(c) for c in columns])
        for row in rows:
            writer.writerow(
                [spreadsheet_safe(c) if isinstance(c, str) else c for c in row]
            )
    os.replace(partial, path)
