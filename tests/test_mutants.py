"""The graded cases catch the mistakes students make: every catalogued mutant is killed by
the items the catalogue names and receives its diagnosis, and no correct style loses a point.

The whole catalogue is graded once per session, in one batch (two workers).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from autograder.casebook import Case, load_cases
from autograder.compare import CHECK_BEFORE_DIVIDING, NO_VALUE_ERROR, RAISE_NOT_ASSERT
from autograder.diagnose import EXAMPLE_ONLY, RAISED_PATTERNS, RANK_ONLY, VARIANTS
from autograder.mutants import (
    CATALOGUE_DIR,
    Entry,
    Row,
    grade_catalogue,
    load_catalogue,
    matrix,
)
from tests.conftest import TEST_LIMITS

ENTRIES = load_catalogue()
MUTANTS = [e for e in ENTRIES if not e.correct]
CORRECT = [e for e in ENTRIES if e.correct]


@pytest.fixture(scope="session")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the catalogue is graded (``graded/<submission>/`` holds the reports)."""
    return tmp_path_factory.mktemp("mutants")


@pytest.fixture(scope="session")
def rows(out_dir: Path) -> dict[str, Row]:
    """Every catalogued submission graded in one batch, by catalogue file name."""
    graded = grade_catalogue(ENTRIES, out_dir, jobs=2, limits=TEST_LIMITS)
    return {row.entry.name: row for row in graded}


def test_catalogue_names_every_mutant_file_once() -> None:
    files = {p.name for p in CATALOGUE_DIR.glob("*.py")}
    assert files == {e.name for e in MUTANTS}
    assert all(e.phrase and e.lose for e in MUTANTS)


def test_catalogue_covers_twenty_misconceptions_and_six_correct_styles() -> None:
    assert len(MUTANTS) >= 20
    assert len(CORRECT) >= 6
    lost = set().union(*(e.lose for e in MUTANTS))
    assert {"qkv.values", "sdpa.values", "sdpa.stability", "mha.values"} <= lost
    assert {"mha.bad_heads", "typing"} <= lost


@pytest.mark.parametrize("entry", MUTANTS, ids=[e.name for e in MUTANTS])
def test_mutant_loses_exactly_the_items_the_catalogue_names(
    rows: dict[str, Row], entry: Entry
) -> None:
    row = rows[entry.name]
    assert row.result.status == "ok", row.result.status_message
    assert row.killed
    assert row.lost == entry.lose


@pytest.mark.parametrize("entry", MUTANTS, ids=[e.name for e in MUTANTS])
def test_mutant_diagnosis_reaches_results_json_and_feedback_md(
    rows: dict[str, Row], out_dir: Path, entry: Entry
) -> None:
    graded = out_dir / "graded" / rows[entry.name].entry.submission
    document = json.loads((graded / "results.json").read_text())
    outputs = [t["output"] for t in document["tests"] if t["tags"][0] in entry.lose]
    assert any(entry.phrase in output for output in outputs), outputs
    assert entry.phrase in (graded / "feedback.md").read_text()


@pytest.mark.parametrize("entry", CORRECT, ids=[e.name for e in CORRECT])
def test_correct_style_keeps_full_marks(rows: dict[str, Row], entry: Entry) -> None:
    row = rows[entry.name]
    assert row.result.score == row.result.max_score == 10
    assert not row.lost


def test_matrix_totals_show_every_mutant_killed_and_no_false_alarm(
    rows: dict[str, Row],
) -> None:
    text = matrix(list(rows.values()))
    n = len(MUTANTS)
    assert f"mutants killed: {n}/{n}; diagnosed: {n}/{n}" in text
    assert f"losses as catalogued: {n}/{n}" in text
    assert "(false alarms: 0)" in text
    assert all(row.ok for row in rows.values())


def hidden_fingerprints(cases: list[Case]) -> list[str]:
    """Texts that would betray a hidden case anywhere in a report: its description and its
    data to 8 significant digits (numpy's print precision; public messages use 6).

    Shapes are checked where they could appear, in the hidden checks' own lines (see
    ``hidden_lines``): elsewhere a public case's shape may equal a hidden one.
    """
    texts: set[str] = set()
    for c in cases:
        if c.visibility != "hidden":
            continue
        texts.add(c.description)
        for a in (*c.args, *c.expected):
            if isinstance(a, np.ndarray):
                texts.update(f"{float(x):.8g}" for x in a.ravel() if abs(x) >= 1e-3)
    return sorted(texts)


SAFE = re.compile(
    r"line \d+|\(\d+x\)|float(32|64)|[<>]=? 1\b|of \d+ arrays|a (tuple|list) of \d+"
)


def fixed_explanations() -> list[str]:
    """Every diagnosis sentence the kit can emit (constants: they carry no case data)."""
    texts = [v.explanation for v in VARIANTS] + [p[2] for p in RAISED_PATTERNS]
    texts += [
        EXAMPLE_ONLY,
        RANK_ONLY,
        NO_VALUE_ERROR,
        RAISE_NOT_ASSERT,
        CHECK_BEFORE_DIVIDING,
    ]
    return sorted(texts, key=len, reverse=True)


def hidden_lines(output: str) -> list[str]:
    """The lines of an item's output that describe hidden checks."""
    lines, inside = [], False
    for line in output.splitlines():
        if re.match(r"- \d+ hidden check\(s\) failed:", line):
            inside = True
        elif inside and line.startswith("  - "):
            lines.append(line)
        else:
            inside = False
    return lines


def test_hidden_case_data_never_reaches_a_failing_mutants_reports(
    rows: dict[str, Row], out_dir: Path
) -> None:
    fingerprints = hidden_fingerprints(load_cases())
    explanations = fixed_explanations()
    seen_hidden = 0
    for row in rows.values():
        if row.entry.correct:
            continue
        graded = out_dir / "graded" / row.entry.submission
        for name in ("results.json", "feedback.md"):
            text = (graded / name).read_text()
            leaked = [t for t in fingerprints if t in text]
            assert not leaked, (row.entry.name, name, leaked[:5])
        document = json.loads((graded / "results.json").read_text())
        for test in document["tests"]:
            for line in hidden_lines(test["output"]):
                seen_hidden += 1
                for explanation in explanations:
                    line = line.replace(explanation, "")
                line = SAFE.sub("", line.removeprefix("  - "))
                assert not re.search(r"\d", line), (row.entry.name, line)
    assert seen_hidden >= len(MUTANTS)


def test_results_json_of_a_correct_style_that_prints_carries_no_hidden_data(
    rows: dict[str, Row], out_dir: Path
) -> None:
    row = rows["debug_prints.py"]
    text = (out_dir / "graded" / row.entry.submission / "results.json").read_text()
    assert not [t for t in hidden_fingerprints(load_cases()) if t in text]
