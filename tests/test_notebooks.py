"""Notebooks are submissions: graded from their code cells, IPython-only lines left out and
named in feedback, every line number naming its cell, a broken notebook explained."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.config import KIT_ROOT
from autograder.intake.notebook import NotebookError, notebook_to_script
from autograder.pipeline.batch import grade_folder
from autograder.score.result import GradeResult
from tests.conftest import INTAKE, TEST_LIMITS

SAVED = INTAKE / "notebooks" / "jupyter_saved.ipynb"


def notebook(*cells: str) -> bytes:
    """A notebook (format 4.4) whose first cell is markdown, then one code cell each."""
    code: list[dict[str, object]] = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": []}
        | {"source": source}
        for source in cells
    ]
    document = {
        "nbformat": 4,
        "nbformat_minor": 4,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# title"},
            *code,
        ],
    }
    return json.dumps(document).encode()


def test_a_saved_notebook_becomes_its_code_cells_without_ipython_lines() -> None:
    script = notebook_to_script(SAVED.read_bytes())
    compile(script.text, "script", "exec")  # plain Python now
    assert "%matplotlib" not in script.text and "!pip" not in script.text
    assert "CPU times" not in script.text  # outputs are not code
    assert script.dropped == (
        "cell 2, line 1: `%matplotlib inline`",
        "cell 2, line 2: `!pip install numpy`",
        "cell 4: the whole `%%time` cell",
        "cell 6, line 1: `np.matmul?`",
    )
    lines = script.text.splitlines()
    qkv = next(i for i, line in enumerate(lines) if line.startswith("def create_qkv"))
    assert script.line_map.describe(qkv + 1) == "line 1 of cell 3"
    assert script.line_map.describe(1) == "line 1 of cell 2"
    assert lines[0] == "pass"  # the magic's line keeps its number


@pytest.mark.parametrize(
    "cell, kept",
    [
        ('text = """\n%not a magic in a string\n"""', True),
        ("total = (1\n% 2)", True),  # a continued expression, not a magic
        ("flag = 1 != 2", True),
        ("files = !ls", False),
        ("    %timeit f()", False),
        ("?np.matmul", False),
    ],
)
def test_only_statements_ipython_would_rewrite_are_dropped(
    cell: str, kept: bool
) -> None:
    script = notebook_to_script(notebook("def f() -> int:\n    return 1", cell))
    assert (script.dropped == ()) is kept
    if kept:
        assert cell in script.text
        compile(script.text, "script", "exec")


@pytest.mark.parametrize(
    "data, says",
    [
        ((INTAKE / "notebooks" / "truncated.ipynb").read_bytes(), "cannot be read"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2, 3]", "cannot be read"),
        (json.dumps(json.loads(notebook())).encode(), "no code cells"),
        (b"[" * 100_000 + b"]" * 100_000, "cannot be read"),
    ],
    ids=["truncated", "not-utf8", "a-list", "no-code", "deep-nesting"],
)
def test_an_unreadable_notebook_is_refused_plainly(data: bytes, says: str) -> None:
    with pytest.raises(NotebookError, match=says):
        notebook_to_script(data)


@pytest.fixture(scope="module")
def graded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, GradeResult]]:
    """The sample notebooks and one with a syntax error, graded in one batch."""
    folder = tmp_path_factory.mktemp("notebooks")
    for sample in (INTAKE / "notebooks").iterdir():
        shutil.copy(sample, folder / sample.name)
    (folder / "syntax.ipynb").write_bytes(notebook("import numpy as np", "x = (1,"))
    out = tmp_path_factory.mktemp("out")
    results = grade_folder(folder, out, jobs=2, limits=TEST_LIMITS, quiet=True)
    return out, {r.submission: r for r in results}


def test_a_correct_notebook_earns_full_marks_and_is_told_what_was_left_out(
    graded: tuple[Path, dict[str, GradeResult]],
) -> None:
    out, results = graded
    assert results["jupyter_saved"].score == 10
    feedback = (out / "jupyter_saved" / "feedback.md").read_text()
    assert "graded from its code cells" in feedback
    assert "`%matplotlib inline`" in feedback and "`%%time`" in feedback


def test_line_numbers_in_feedback_name_the_cell(
    graded: tuple[Path, dict[str, GradeResult]],
) -> None:
    out, results = graded
    raised = results["raises_in_cell_4"]
    assert raised.status == "import_error"
    assert "ZeroDivisionError" in raised.status_message
    assert "at line 2 of cell 4 of your file" in raised.status_message
    syntax = results["syntax"]
    assert syntax.status == "syntax"
    assert "line 1 of cell 3" in syntax.status_message


def test_a_broken_notebook_gets_a_row_with_a_clear_message(
    graded: tuple[Path, dict[str, GradeResult]],
) -> None:
    out, results = graded
    broken = results["truncated"]
    assert broken.status == "notebook" and broken.score == 0
    assert "truncated.ipynb: the notebook cannot be read" in broken.status_message


def test_the_handout_says_how_notebooks_are_graded() -> None:
    readme = (KIT_ROOT / "student" / "README.md").read_text()
    section = readme.split("## Submitting a notebook", 1)[1].split("\n## ", 1)[0]
    assert "code cells" in section and "%" in section and "cell" in section
