"""The graded cases catch the mistakes students make: every catalogued mutant is killed by
the items the catalogue names and receives its diagnosis, and no correct style loses a point.

The whole catalogue is graded once per session, in one batch (two workers).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.cases.casebook import load_cases
from autograder.deliver.package import otter_sources
from autograder.diagnose.catalogue import VARIANTS
from autograder.judge import causes
from autograder.judge.case import Case
from autograder.judge.causes import RAISED_PATTERNS
from autograder.pipeline.mutants import (
    CATALOGUE_DIR,
    Entry,
    Row,
    grade_catalogue,
    load_catalogue,
    matrix,
)
from tests.conftest import TEST_LIMITS
from tests.test_handout import handout, handout_folder, numpy_home, self_check

__all__ = [
    "handout",
    "handout_folder",
    "numpy_home",
]  # fixtures shared with the handout

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


def test_catalogue_covers_forty_misconceptions_and_eight_correct_styles() -> None:
    assert len(MUTANTS) >= 40
    assert len(CORRECT) >= 8
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
def test_mutant_diagnosis_reaches_results_json_and_feedback_md_once(
    rows: dict[str, Row], out_dir: Path, entry: Entry
) -> None:
    graded = out_dir / "graded" / rows[entry.name].entry.submission
    document = json.loads((graded / "results.json").read_text())
    assert entry.phrase in document["output"]
    feedback = (graded / "feedback.md").read_text()
    assert entry.phrase in feedback
    causes = [line for line in feedback.splitlines() if re.match(r"\d+\. ", line)]
    assert causes and len(causes) == len(set(causes)), "a cause is stated twice"


@pytest.mark.parametrize("entry", CORRECT, ids=[e.name for e in CORRECT])
def test_correct_style_keeps_full_marks(rows: dict[str, Row], entry: Entry) -> None:
    row = rows[entry.name]
    assert row.result.score == row.result.max_score == 10
    assert not row.lost


def test_numpy_errors_earn_no_bad_heads_credit(rows: dict[str, Row]) -> None:
    """Without a check of its own, numpy's reshape raises ValueError for most bad head
    counts; none of them counts, and both missing checks are named."""
    result = rows["no_value_error.py"].result
    item = next(i for i in result.items if i.id == "mha.bad_heads")
    assert item.score == 0 and item.passed == 0
    feedback = rows["no_value_error.py"].feedback
    assert "check `D % num_heads != 0` first" in feedback
    assert "check `num_heads < 1` first" in feedback


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
    r"line \d+|\d+ public checks?|cause \d+|\d+ of \d+ checks passed|^\d+\. |"
    r"float(16|32|64)|[<>]=? 1\b|(qkv|sdpa|mha)-[a-z-]*\d+|1/sqrt\(\w+\)|axis=-?\d|"
    r"-1, -2|-2, -1|\(\d, \d(, \d)*\)|B ?= ?1|h ?= ?1|B\*h|L\*head_dim|head_dim 8|"
    r"B=1, L=5, D=32, 4 heads|about 7 significant|about 3 significant|\d+D"
)


def fixed_explanations() -> list[str]:
    """Every diagnosis sentence the kit can emit (constants: they carry no case data)."""
    texts = [v.explanation for v in VARIANTS] + [p[4] for p in RAISED_PATTERNS]
    texts += [
        value
        for name, value in vars(causes).items()
        if name.isupper() and isinstance(value, str) and len(value) > 40
    ]
    return sorted(texts, key=len, reverse=True)


def hidden_lines(text: str) -> list[str]:
    """The lines of a report that speak of hidden checks."""
    return [line for line in text.splitlines() if "hidden" in line]


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
        outputs = [document["output"]] + [t["output"] for t in document["tests"]]
        for line in [line for output in outputs for line in hidden_lines(output)]:
            seen_hidden += 1
            for explanation in explanations:
                line = line.replace(explanation, "")
            line = SAFE.sub("", line)
            assert not re.search(r"\d", line), (row.entry.name, line)
    assert seen_hidden >= len(MUTANTS)


def test_results_json_of_a_correct_style_that_prints_carries_no_hidden_data(
    rows: dict[str, Row], out_dir: Path
) -> None:
    row = rows["debug_prints.py"]
    text = (out_dir / "graded" / row.entry.submission / "results.json").read_text()
    assert not [t for t in hidden_fingerprints(load_cases()) if t in text]


# --- one judge, three deliveries ---------------------------------------------------------

OTTER_RUNNER = """
import contextlib, io, json, os, sys
sys.path.insert(0, sys.argv[1])
import mhsa_otter
found = {}
for path in sys.argv[2:]:
    folder = os.path.dirname(path)
    os.chdir(folder)
    env = {"__name__": "submission"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(open(path).read(), path, "exec"), env)
    mhsa_otter._verdicts.clear()
    verdicts = mhsa_otter.verdicts(env)
    found[os.path.basename(path)] = {
        case_id: [v.passed, v.diagnosis] for case_id, v in verdicts.items()
        if not case_id.startswith("hidden-")
    }
print(json.dumps(found))
"""


def grader_verdicts(row: Row) -> dict[str, list[Any]]:
    """The grader's verdict and named cause on each public case of a graded entry."""
    return {
        case.case_id: [case.passed, case.diagnosis]
        for item in row.result.items
        for case in item.results
        if case.visibility == "public" and item.id not in ("typing", "formatting")
    }


def entry_file(entry: Entry) -> Path:
    return CATALOGUE_DIR / ("correct" if entry.correct else "") / entry.name


@pytest.fixture(scope="module")
def selfcheck_verdicts(
    handout_folder: Path, numpy_home: Path
) -> dict[str, dict[str, list[Any]]]:
    """``check.py --json`` from the built handout, with only numpy importable, on every
    catalogued file: its verdict and named cause per public case."""

    def run(entry: Entry) -> dict[str, list[Any]]:
        done = self_check(handout_folder, numpy_home, "--json", str(entry_file(entry)))
        report = json.loads(done.stdout)
        return {c["name"]: [c["passed"], c["likely_cause"]] for c in report["checks"]}

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([e.name for e in ENTRIES], pool.map(run, ENTRIES)))


@pytest.fixture(scope="module")
def otter_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Otter export's checks package (as ``make otter`` lays it out) run on every
    catalogued file, each alone in a folder as Otter runs it."""
    export = tmp_path_factory.mktemp("otter-export")
    otter_sources(export)
    paths = []
    for entry in ENTRIES:
        folder = tmp_path_factory.mktemp("otter-submission")
        shutil.copy(entry_file(entry), folder / entry.name)
        paths.append(str(folder / entry.name))
    done = subprocess.run(
        [sys.executable, "-c", OTTER_RUNNER, str(export), *paths],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_selfcheck_gives_the_graders_verdict_and_cause_on_every_public_case(
    rows: dict[str, Row], selfcheck_verdicts: dict[str, Any], entry: Entry
) -> None:
    assert selfcheck_verdicts[entry.name] == grader_verdicts(rows[entry.name])


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_otter_export_gives_the_graders_verdict_and_cause_on_every_public_case(
    rows: dict[str, Row], otter_verdicts: dict[str, Any], entry: Entry
) -> None:
    assert otter_verdicts[entry.name] == grader_verdicts(rows[entry.name])
