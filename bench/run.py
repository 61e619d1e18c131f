"""``make bench``: how long a student and an instructor wait, measured on this machine.

One run prints one Markdown table: one submission through ``make grade`` and through
Gradescope's ``run_autograder`` (median of several warm runs), a generated class of
submissions graded as a new class and again as a regrade (wall time, throughput, peak
memory), and the reference's float32 attention against PyTorch's. It reports figures and
never fails on them; the targets column says what the kit aims for.

Everything it writes goes to a temporary folder (``--keep`` keeps it). The machine's load
average before and after is printed too: figures taken on a busy machine are noisy.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.deliver.package import GRADESCOPE_DIR
from bench.population import VARIANTS, write_population

KIT_ROOT = Path(__file__).resolve().parent.parent
RUN_AUTOGRADER = GRADESCOPE_DIR / "run_autograder"
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05
COMMAND_TIMEOUT = 1800.0
MB = 1 << 20


@dataclass
class Row:
    """One line of the table: what was measured, the figure, and the kit's target."""

    what: str
    figure: str
    target: str = ""


@dataclass
class Table:
    """The rows measured so far, printed as Markdown."""

    rows: list[Row] = field(default_factory=list)

    def add(self, what: str, figure: str, target: str = "") -> None:
        """Append a row and echo it at once, so a long run shows progress."""
        self.rows.append(Row(what, figure, target))
        print(f"  {what}: {figure}", file=sys.stderr, flush=True)

    def markdown(self) -> str:
        """The table as GitHub Markdown."""
        lines = ["| measure | figure | target |", "| --- | --- | --- |"]
        lines += [f"| {row.what} | {row.figure} | {row.target} |" for row in self.rows]
        return "\n".join(lines)


class TreeMemory(threading.Thread):
    """Sample the summed resident memory of a process and all its descendants."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_bytes = 0
        self.root_peak_bytes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_SECONDS):
            self._sample()

    def stop(self) -> None:
        """End sampling (call after the root process has exited)."""
        self._stop_event.set()
        self.join()

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        tree, frontier = {self.root}, [self.root]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            tree.update(children)
            frontier.extend(children)
        total = 0
        for pid in tree:
            try:
                resident = (
                    int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
                )
            except (OSError, IndexError, ValueError):
                continue
            total += resident
            if pid == self.root:
                self.root_peak_bytes = max(self.root_peak_bytes, resident)
        self.peak_bytes = max(self.peak_bytes, total)


@dataclass(frozen=True)
class Measured:
    """Wall time and memory of one command run to completion."""

    seconds: float
    returncode: int
    largest_process_bytes: int
    tree_peak_bytes: int
    root_peak_bytes: int


def run_measured(command: list[str], env: dict[str, str], log: Path) -> Measured:
    """Run ``command`` from the kit's root, output to ``log``, sampling its memory."""
    with log.open("ab") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=KIT_ROOT, env=env, stdout=sink, stderr=sink
        )
        sampler = TreeMemory(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        seconds=seconds,
        returncode=process.returncode,
        largest_process_bytes=usage.ru_maxrss * 1024,
        tree_peak_bytes=sampler.peak_bytes,
        root_peak_bytes=sampler.root_peak_bytes,
    )


def median_runs(
    command: list[str], env: dict[str, str], runs: int, log: Path
) -> list[float]:
    """One warm-up run, then ``runs`` timed runs; raise if any run fails."""
    times = []
    for index in range(runs + 1):
        measured = run_measured(command, env, log)
        if measured.returncode != 0:
            raise RuntimeError(
                f"{command[0]} failed (exit {measured.returncode}); see {log}"
            )
        if index:
            times.append(measured.seconds)
    return times


def spread(times: list[float]) -> str:
    """Median with the range, in seconds."""
    return (
        f"{statistics.median(times):.2f} s (median of {len(times)}; "
        f"{min(times):.2f}-{max(times):.2f})"
    )


def ms(seconds: float) -> str:
    """Milliseconds, with more digits for tiny sizes (the smoke test's)."""
    return f"{seconds * 1e3:.1f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.3f} ms"


def timing(figure: dict[str, float]) -> str:
    """A median with the best run beside it."""
    return f"{ms(figure['median'])} (best {ms(figure['best'])})"


def kit_env(**extra: str) -> dict[str, str]:
    """The environment for kit commands: this one, with the kit importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(KIT_ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.update(extra)
    return env


def correct_source() -> str:
    """A correct, vectorised submission, as a student would write it."""
    vectorised = next(v for v in VARIANTS if v.name == "vectorised")
    return vectorised.render(1, random.Random(0))


def gradebook_scores(path: Path) -> list[str]:
    """The score column of a gradebook.csv."""
    with path.open(newline="") as source:
        return [row["score"] for row in csv.DictReader(source)]


def bench_single_make(table: Table, work: Path, runs: int, direct: bool) -> None:
    """One submission through ``make grade`` (or the same engine call with ``--direct``)."""
    folder = work / "one"
    folder.mkdir()
    (folder / "mhsa.py").write_text(correct_source())
    out = work / "one-out"
    if direct:
        command = [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(folder),
            "--out",
            str(out),
        ]
        label = "one submission, `python -m autograder grade` (warm)"
    else:
        make = shutil.which("make") or "make"
        command = [make, "-s", "grade", f"SUBMISSIONS={folder}", f"OUT={out}", "JOBS=1"]
        label = "one submission, `make grade` (warm)"
    times = median_runs(command, kit_env(), runs, work / "single.log")
    score = ",".join(gradebook_scores(out / "gradebook.csv"))
    table.add(label, f"{spread(times)}, scored {score}/10", "<= 0.6 s")


def bench_single_gradescope(table: Table, work: Path, runs: int) -> None:
    """One submission through Gradescope's ``run_autograder`` after ``setup.sh``'s warm-up."""
    label = "one submission, Gradescope `run_autograder` (warm)"
    if not RUN_AUTOGRADER.exists():
        table.add(label, f"not measured: {RUN_AUTOGRADER} is not in this checkout")
        return
    root = work / "autograder-root"
    source = root / "source"
    shutil.copytree(
        KIT_ROOT / "autograder",
        source / "autograder",
        ignore=shutil.ignore_patterns("__pycache__", ".cache", ".mypy_cache"),
    )
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "mhsa.py").write_text(correct_source())
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), MHSA_PYTHON=sys.executable)
    env.pop("PYTHONPATH", None)
    log = work / "gradescope.log"
    with log.open("ab") as sink:  # setup.sh's last step: fill caches, check confinement
        subprocess.run(
            [sys.executable, "-m", "autograder.deliver.gradescope_run", "--warm"],
            cwd=source,
            env=env,
            stdout=sink,
            stderr=sink,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    times = median_runs(["bash", str(RUN_AUTOGRADER)], env, runs, log)
    results = json.loads((root / "results" / "results.json").read_text())
    table.add(label, f"{spread(times)}, scored {results.get('score')}/10", "")


def bench_batch(table: Table, work: Path, args: argparse.Namespace) -> None:
    """A generated class graded as new (cold mypy cache for its files), then regraded."""
    folder = work / "class"
    salt = f"bench {time.time_ns():x}"
    kinds = write_population(
        folder, args.count, seed=args.seed, hangs=args.hangs, salt=salt
    )
    mix = Counter(kinds.values())
    described = (
        f"{args.count} generated submissions ({mix['correct']} correct, "
        f"{mix['mistaken']} mistaken, {mix['broken']} broken incl. {args.hangs} endless loop)"
    )
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    for attempt, name in enumerate(("new class", "regrade")):
        out = work / f"class-out-{attempt}"
        command = [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(folder),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
        ]
        measured = run_measured(command, kit_env(), work / "batch.log")
        rows = (
            len(gradebook_scores(out / "gradebook.csv"))
            if measured.returncode == 0
            else 0
        )
        figure = (
            f"{measured.seconds:.1f} s, {args.count / measured.seconds:.1f} submissions/s, "
            f"{jobs} workers, {rows} gradebook rows"
            if measured.returncode == 0
            else f"failed (exit {measured.returncode}); see {work / 'batch.log'}"
        )
        target = "<= 40 s for 200 on 2 cores" if attempt == 0 else ""
        table.add(f"batch, {name}: {described}", figure, target)
        if attempt == 0:
            table.add(
                "grader peak memory during the batch",
                f"main process {measured.root_peak_bytes / MB:.0f} MB; largest process "
                f"{measured.largest_process_bytes / MB:.0f} MB; whole tree (workers, mypy, "
                f"children; sampled) {measured.tree_peak_bytes / MB:.0f} MB",
            )
        if not args.regrade:
            break


def reference_figures(size: str, env: dict[str, str]) -> dict[str, Any]:
    """``bench.reference`` in a fresh process with ``env``."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.reference", "--size", size],
        cwd=KIT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def bench_reference(table: Table, size: str) -> None:
    """The reference against PyTorch, with the environment's BLAS pins and without them."""
    pinned = {
        key: value for key, value in os.environ.items() if key.startswith("OPENBLAS")
    }
    settings = [("environment as is", kit_env())]
    if pinned:
        unpinned = {k: v for k, v in kit_env().items() if not k.startswith("OPENBLAS")}
        settings.append(("OPENBLAS_* unset", unpinned))
    shape = "B, L, D, heads = " + size.replace(",", ", ")
    for setting, env in settings:
        figures = reference_figures(size, env)
        blas = figures["blas"]
        pins = " ".join(f"{k}={v}" for k, v in figures["pinned"].items()) or "none"
        kernel = (
            f"{blas['library']} kernel {blas['kernel']}, {blas['threads']} threads "
            f"(pins: {pins}; {setting})"
        )
        reference, reference_sdpa = figures["reference"], figures["reference_sdpa"]
        table.add(
            f"reference `multi_head_attention`, float32, {shape}",
            f"{timing(reference)} ({figures['dtype_kept']} out); {kernel}",
        )
        torch = figures["torch"]
        if isinstance(torch, str):
            table.add("PyTorch `scaled_dot_product_attention`, same process", torch)
            continue
        table.add(
            f"PyTorch {torch['version']} projections + `scaled_dot_product_attention`, "
            f"same process ({torch['threads']} threads, {torch['cpu_capability']})",
            f"{timing(torch['mha'])}; ratio reference / PyTorch "
            f"{reference['best'] / torch['mha']['best']:.2f}x (best runs; "
            f"max difference {torch['max_abs_difference']:.1e})",
            "ratio <= 1.15x",
        )
        table.add(
            "attention alone: reference `scaled_dot_product_attention` / PyTorch's",
            f"{timing(reference_sdpa)} / {timing(torch['sdpa'])}: "
            f"{reference_sdpa['best'] / torch['sdpa']['best']:.2f}x (best runs)",
        )


def machine_line(load_before: tuple[float, float, float]) -> str:
    """Cores, interpreter and load averages: the context every figure needs."""
    load_after = os.getloadavg()
    return (
        f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after"
        + (
            " (busy: figures are noisy)"
            if max(load_before[0], load_after[0]) > 1.0
            else ""
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Measure everything and print the table; exit 0 whatever the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--count", type=int, default=200, help="submissions in the batch"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs per single figure"
    )
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS") or 0))
    parser.add_argument("--seed", type=int, default=0, help="the generated class's mix")
    parser.add_argument(
        "--hangs", type=int, default=1, help="endless loops in the class"
    )
    parser.add_argument(
        "--size", default="4,512,512,8", help="reference size: B,L,D,heads"
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="time `python -m autograder` instead of make",
    )
    parser.add_argument("--no-regrade", dest="regrade", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    table = Table()
    work = Path(tempfile.mkdtemp(prefix="mhsa-bench-"))
    print(f"make bench: working in {work}", file=sys.stderr)
    try:
        bench_single_make(table, work, args.runs, args.direct)
        bench_single_gradescope(table, work, args.runs)
        bench_batch(table, work, args)
        bench_reference(table, args.size)
    finally:
        print()
        print(table.markdown())
        print()
        print(machine_line(load_before))
        if args.keep:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
