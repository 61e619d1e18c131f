"""Which file of a submission is graded, and reading it: ``mhsa.py``, else ``mhsa.ipynb``
(names compared ignoring case, the shallowest first), else the one ``.py`` or ``.ipynb``
file that defines the most of the three functions (a ``.py`` file winning a tie with
notebooks); a notebook is graded from its code cells.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.contract.functions import FUNCTION_ALIASES
from autograder.contract.source_text import SourceDecodeError, decode_source
from autograder.intake.notebook import (
    NotebookError,
    describe_dropped,
    notebook_to_script,
)
from autograder.intake.submission import NOTEBOOK_SUFFIX, PYTHON_SUFFIX, Submission

PREFERRED_STEM = "mhsa"
MAX_PY_BYTES = 512 << 10
MAX_NOTEBOOK_BYTES = 16 << 20  # outputs (plots) make notebooks large
UNOPENED = (
    "an archive that cannot be opened"  # starts the reason a FoundFile is skipped
)


@dataclass
class FoundFile:
    """A file inside a submission, as the manifest shows it."""

    shown: str
    path: Path | None
    skip: str = ""  # why it cannot be the graded file ("" for a .py or .ipynb)
    opened: str = ""  # an archive that was opened: what it held

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.shown)[1].lower()

    @property
    def depth(self) -> int:
        return self.shown.count("/")


def defined_functions(data: bytes, notebook: bool) -> int:
    """How many of the three functions a candidate defines at its top level."""
    try:
        text = notebook_to_script(data).text if notebook else decode_source(data)
        tree = ast.parse(text)
    except (NotebookError, SourceDecodeError, SyntaxError, ValueError, RecursionError):
        return 0
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return sum(
        any(alias in defined for alias in aliases)
        for aliases in FUNCTION_ALIASES.values()
    )


def choose_graded(files: list[FoundFile]) -> tuple[FoundFile | None, str | None]:
    """The graded file among ``files``, or None and why (see the module docstring)."""
    candidates = [f for f in files if not f.skip and not f.opened and f.path]
    if not candidates:
        unopened = [
            f"{f.shown}: {f.skip}" for f in files if f.skip.startswith(UNOPENED)
        ]
        return None, "no .py or .ipynb file was submitted" + (
            f" ({'; '.join(unopened[:3])})" if unopened else ""
        )
    for suffix in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX):
        preferred = [
            f
            for f in candidates
            if os.path.basename(f.shown).casefold() == PREFERRED_STEM + suffix
        ]
        if preferred:
            return min(preferred, key=lambda f: (f.depth, f.shown)), None
    if len(candidates) == 1:
        return candidates[0], None
    counts = {}
    for item in candidates:
        assert item.path is not None
        try:
            data = item.path.read_bytes()[: MAX_NOTEBOOK_BYTES + 1]
        except OSError:
            data = b""
        counts[item.shown] = defined_functions(data, item.suffix == NOTEBOOK_SUFFIX)
    best = max(counts.values())
    leaders = [f for f in candidates if counts[f.shown] == best and best > 0]
    scripts = [f for f in leaders if f.suffix == PYTHON_SUFFIX]
    if len(leaders) == 1 or len(scripts) == 1:
        return (leaders if len(leaders) == 1 else scripts)[0], None
    names = ", ".join(os.path.basename(f.shown) for f in candidates[:5])
    more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
    return None, (
        f"several .py/.ipynb files and none named {PREFERRED_STEM}.py: {names}{more} "
        f"(name the one to grade {PREFERRED_STEM}.py)"
    )


def read_chosen(base: Submission, chosen: FoundFile) -> tuple[Submission, str]:
    """The submission of the chosen file, and the manifest's detail for that file."""
    assert chosen.path is not None
    notebook = chosen.suffix == NOTEBOOK_SUFFIX
    limit = MAX_NOTEBOOK_BYTES if notebook else MAX_PY_BYTES
    try:
        size = chosen.path.stat().st_size
        if size > limit:
            problem = f"{base.file_name} is {size} bytes, over the {limit} byte limit"
            return replace(base, problem=problem, problem_kind="too_large"), problem
        data = chosen.path.read_bytes()
    except OSError as exc:
        problem = f"{base.file_name} could not be read ({exc.strerror})"
        return replace(base, problem=problem), problem
    if not notebook:
        return replace(base, source=data), "as Python"
    try:
        script = notebook_to_script(data)
    except NotebookError as exc:
        problem = f"{base.file_name}: {exc}"
        return replace(base, problem=problem, problem_kind="notebook"), problem
    note = describe_dropped(script.dropped)
    detail = "as a notebook (its code cells, top to bottom)" + (
        f"; {len(script.dropped)} IPython-only line(s) left out"
        if script.dropped
        else ""
    )
    graded = replace(
        base,
        source=script.text.encode("utf-8"),
        line_map=script.line_map,
        notes=(note,) if note else (),
    )
    return graded, detail
