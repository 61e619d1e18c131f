"""Read one submission as text: decode it as Python does, parse it, find the graded
functions and what they leave unannotated. The grader's own process only decodes and
parses; nothing here runs the file.
"""

from __future__ import annotations

import ast
from pathlib import Path

from autograder.config import Limits
from autograder.confine.untrusted import safe_text
from autograder.contract.signatures import graded_definitions, unannotated
from autograder.contract.source_text import SourceDecodeError, decode_source, line_ref
from autograder.static.report import StaticReport

MAX_SOURCE_BYTES = 512 << 10
NO_TYPE_CHECK = frozenset({"no_type_check", "no_type_check_decorator"})


def read_submission(
    source: bytes, black: bool = True, file_name: str = "mhsa.py"
) -> StaticReport:
    """Decode, parse and inspect one submission (no mypy yet).

    ``black=False`` leaves the formatting check to a batch's ``BlackRun``, which runs it
    while mypy works in its own process; ``black=True`` starts a worker for this file.
    """
    report = StaticReport(file_name=safe_text(Path(file_name).name, 100))
    if len(source) > MAX_SOURCE_BYTES:
        return _fatal(
            report, "too_large", f"the file is {len(source)} bytes, over the limit"
        )
    if not source.strip():
        return _fatal(report, "empty", "the file is empty")
    try:
        text = decode_source(source)
    except SourceDecodeError as exc:
        return _fatal(report, "encoding", str(exc))
    report.text = text
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        line = exc.lineno or 0
        where = line_ref(line) + (f", column {exc.offset}" if exc.offset else "")
        message = safe_text(str(exc.msg), 300)  # it may quote the file's characters
        return _fatal(report, "syntax", f"syntax error at {where}: {message}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return _fatal(
            report, "syntax", f"the file cannot be parsed: {type(exc).__name__}"
        )
    _inspect_functions(tree, report)
    if black:
        from autograder.static.black_run import BlackRun  # its framing loads numpy

        with BlackRun(Limits()) as run:
            run.check(report)
    return report


def _fatal(report: StaticReport, kind: str, message: str) -> StaticReport:
    report.fatal, report.fatal_kind = message, kind
    return report


def _inspect_functions(tree: ast.Module, report: StaticReport) -> None:
    for canonical, node in graded_definitions(tree).items():
        report.defined[canonical] = node.name
        report.unannotated[canonical] = unannotated(node)
    report.silenced = _silencers(tree, report.text)


def _silencers(tree: ast.Module, text: str) -> list[str]:
    """The names of ``NO_TYPE_CHECK`` that occur in ``tree``, sorted.

    An ASCII text that never spells ``no_type_check`` has none, and walking the tree was
    half of parsing a file. Only ASCII texts are skipped: Python folds identifiers to NFKC,
    so a fullwidth ``ｎｏ_type_check`` is the same name in the tree.
    """
    if text.isascii() and "no_type_check" not in text:
        return []
    names = {
        getattr(node, attribute)
        for node in ast.walk(tree)
        for attribute in ("id", "attr", "name")
        if isinstance(getattr(node, attribute, None), str)
    }
    return sorted(NO_TYPE_CHECK & names)
