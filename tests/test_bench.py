"""``make bench`` runs end to end: a tiny batch still prints every row of the table.

The figures themselves are not asserted (timings belong to the benchmark, not to tests);
what is pinned is that each measurement ran and graded what it was given.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench import run as bench_run
from bench.machine import CpuTimes, speed_marker, steal_share
from bench.population import VARIANTS, write_population
from bench.run import Table

KIT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench_output() -> str:
    """The table printed by one small bench run (6 submissions, one timed run each).

    No endless loop in this class: each would cost two call deadlines per batch.
    """
    env = dict(os.environ, PYTHONPATH=str(KIT_ROOT), MHSA_CALL_SECONDS="2")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--count",
            "6",
            "--runs",
            "1",
            "--hangs",
            "0",
            "--size",
            "2,16,16,4",
            "--direct",
            "--grading-python",
            sys.executable,
        ],
        cwd=KIT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def table_rows(output: str) -> dict[str, str]:
    """First cell -> second cell of each Markdown table row."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) >= 2 and cells[0] != "measure":
            rows[cells[0]] = cells[1]
    return rows


def row(rows: dict[str, str], prefix: str) -> str:
    """The figure of the first row whose label starts with ``prefix``."""
    matches = [figure for label, figure in rows.items() if label.startswith(prefix)]
    assert matches, f"no row starting with {prefix!r} in {list(rows)}"
    return matches[0]


def test_bench_prints_every_row_and_grades_what_it_times(bench_output: str) -> None:
    rows = table_rows(bench_output)
    for which in ("graded again", "never graded before"):
        assert "scored 10/10" in row(
            rows, f"one submission, `python -m autograder grade` ({which}"
        )
        gradescope = row(rows, f"one submission, Gradescope `run_autograder` ({which}")
        assert "scored 10" in gradescope  # the Gradescope scripts live in the kit
    below = row(rows, "one submission below full marks")
    assert "scored 10/10" not in below and "scored " in below
    otter = row(rows, "the same submission, `otter run")
    assert "scored 10/10" in otter or "not measured" in otter
    if "scored" in otter:
        ratio = row(rows, "one submission never graded before: `make grade` / `otter")
        assert ratio.endswith("x")
    for batch in ("new class", "regrade"):
        figure = row(rows, f"batch, {batch}: 6 generated submissions")
        multiple = re.search(
            r"^([\d.]+) s, .*; ([\d.]+)x this run's `otter run`$", figure
        )
        if "scored" in otter:  # the batch's wall time over Otter's median, same run
            otter_median = float(otter.split(" s", 1)[0])
            assert multiple is not None, figure
            assert float(multiple.group(2)) == pytest.approx(
                float(multiple.group(1)) / otter_median, abs=0.06
            )
        else:
            assert multiple is None and "otter" not in figure, figure
    assert "6 gradebook rows" in row(rows, "batch, new class: 6 generated submissions")
    assert "s of CPU over the whole tree" in row(
        rows, "batch, new class: 6 generated submissions"
    )
    assert "6 gradebook rows" in row(rows, "batch, regrade: 6 generated submissions")
    memory = row(rows, "grader peak memory")
    assert "summed PSS" in memory and "largest process" in memory
    sampled = re.search(r"(\d+) MB summed PSS", memory)  # its own, sampled batch
    assert sampled is not None and int(sampled.group(1)) > 0, memory
    assert "(float32 out)" in row(rows, "reference `multi_head_attention`, float32")
    torch_row = row(rows, "PyTorch")
    assert "ratio reference / PyTorch" in torch_row or "ratio skipped" in torch_row
    assert "Machine: " in bench_output and "load average" in bench_output
    machine = re.fullmatch(
        r"(\d+) ms before the first figure, (\d+) ms after the last; "
        r"\d+\.\d% stolen",
        row(rows, "the machine: speed marker"),
    )
    assert machine is not None and int(machine.group(1)) > 0, rows


def test_a_timed_run_has_no_memory_sampler_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sampler's walks of /proc took about 4 % of a class's CPU from the command.
    started: list[object] = []
    monkeypatch.setattr(
        bench_run.TreeMemory, "start", lambda self: started.append(self)
    )
    measured = bench_run.run_measured(["true"], dict(os.environ), tmp_path / "log")
    assert measured.returncode == 0 and started == []


def test_the_speed_marker_times_its_work_in_the_interpreter_it_is_given(
    tmp_path: Path,
) -> None:
    marker = speed_marker(Path(sys.executable))
    assert marker is not None and 1 < marker < 60_000
    assert speed_marker(tmp_path / "no-python") is None


def test_the_steal_share_is_the_stolen_part_of_the_ticks_between_two_readings() -> None:
    # /proc/stat's first line: user nice system idle iowait irq softirq steal guest ...
    before = CpuTimes.parse("cpu  100 0 50 800 10 0 5 35 7 0")
    after = CpuTimes.parse("cpu  160 0 60 900 10 0 5 45 9 0")
    assert (before.total, before.steal) == (1000, 35)
    assert steal_share(before, after) == 10 / 180  # guest time is inside user already
    assert steal_share(after, before) is None and steal_share(None, after) is None
    assert CpuTimes.now() is not None  # Linux: the bench reads it on this machine


def test_generated_class_mixes_correct_mistaken_and_broken(tmp_path: Path) -> None:
    kinds = write_population(tmp_path, 200, seed=0, hangs=1)
    files = sorted(tmp_path.glob("*.py"))
    assert len(files) == 200 == len(kinds)
    mix = Counter(kinds.values())
    assert mix["correct"] > 60 and mix["mistaken"] > 40 and mix["broken"] > 10
    assert sum(1 for name in kinds if name.endswith("_hang")) == 1
    texts = [path.read_text() for path in files if path.stat().st_size]
    assert len(set(texts)) == len(texts)  # every non-empty file is new to mypy's cache


def test_generated_class_is_reproducible_and_salt_only_changes_the_text(
    tmp_path: Path,
) -> None:
    first = write_population(tmp_path / "a", 30, seed=3)
    again = write_population(tmp_path / "b", 30, seed=3)
    salted = write_population(tmp_path / "c", 30, seed=3, salt="term 2")
    assert first == again == salted
    name = next(iter(first)) + ".py"
    assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    assert "term 2" in (tmp_path / "c" / name).read_text()


def test_every_variant_renders_python_that_parses_unless_meant_to_break() -> None:
    for variant in VARIANTS:
        source = variant.render(7, random.Random(7))
        if variant.name in ("syntax_error", "empty"):
            continue
        compile(source, variant.name, "exec")


def test_table_prints_markdown_with_a_target_column() -> None:
    table = Table()
    table.add("one submission", "0.50 s", "<= 0.6 s")
    assert table.markdown().splitlines() == [
        "| measure | figure | target |",
        "| --- | --- | --- |",
        "| one submission | 0.50 s | <= 0.6 s |",
    ]
