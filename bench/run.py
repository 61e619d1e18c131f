"""``make bench``: how long a student and an instructor wait, measured on this machine.

One run prints one Markdown table: one submission through ``make grade`` and through
Gradescope's ``run_autograder`` (median of several warm runs, each a fresh process started
exactly as a user or Gradescope starts it), both for the same file graded again (mypy's
and black's answers kept) and for a text never graded before (as every Gradescope upload
is), the same submission through ``otter run`` on the kit's Otter export in the same run
(the ratio), a generated class of submissions graded
with ``make grade`` as a new class and again as a regrade (wall time, throughput, peak
memory of the whole process tree), and the reference's float32 attention against
PyTorch's. It reports figures and never fails on them; the targets column says what the
kit aims for.

Everything it writes goes to a temporary folder (``--keep`` keeps it). The machine's load
average before and after is printed too, and the table's last row reads the machine's own
speed before and after (``bench/machine.py``): figures taken on a busy or slowed machine are
noisy.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.deliver.package import GRADESCOPE_DIR
from bench.machine import CpuTimes, machine_row, speed_marker, steal_share
from bench.population import VARIANTS, write_population

KIT_ROOT = Path(__file__).resolve().parent.parent
RUN_AUTOGRADER = GRADESCOPE_DIR / "run_autograder"
GRADING_PYTHON = KIT_ROOT / ".venv" / "bin" / "python"  # `make grade`'s own interpreter
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05
# A process's PSS costs the kernel a walk of its pages (about 1 ms for a grader with
# numpy loaded): read at every fifth sample, so the sampler takes a few per cent of a core
# from the command it measures instead of a sixth.
PSS_EVERY = 5
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


def proportional_bytes(pid: int) -> int | None:
    """A process's proportional set size (PSS): its private pages plus its share of the
    pages it shares (forked workers share most of theirs), so a sum over a tree counts
    every page once. None when the process is gone or hides it."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(root: int) -> set[int]:
    """``root`` and every process below it, read from each thread's ``children`` list:
    a walk of the tree alone, where scanning all of /proc would take a sizeable share of
    a core at this sampling rate and so slow the command being measured."""
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        try:
            tasks = [entry.path for entry in os.scandir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(task, "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in tree:
                    tree.add(child)
                    frontier.append(child)
    return tree


class TreeMemory(threading.Thread):
    """Sample the memory of a process and all its descendants: the summed proportional set
    size (the fair total) and the summed resident size (which counts shared pages once per
    process, so overstates a forked tree)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_bytes = 0  # summed RSS
        self.peak_pss_bytes = 0  # summed PSS
        self.root_peak_bytes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        count = 0
        while not self._stop_event.wait(SAMPLE_SECONDS):
            self._sample(pss=count % PSS_EVERY == 0)
            count += 1

    def stop(self) -> None:
        """End sampling (call after the root process has exited)."""
        self._stop_event.set()
        self.join()

    def _sample(self, pss: bool) -> None:
        tree = descendants(self.root)
        total = proportional = 0
        for pid in tree:
            try:
                resident = (
                    int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
                )
            except (OSError, IndexError, ValueError):
                continue
            total += resident
            proportional += (proportional_bytes(pid) or 0) if pss else 0
            if pid == self.root:
                self.root_peak_bytes = max(self.root_peak_bytes, resident)
        self.peak_bytes = max(self.peak_bytes, total)
        if pss:
            self.peak_pss_bytes = max(self.peak_pss_bytes, proportional)


@dataclass(frozen=True)
class Measured:
    """Wall time and memory of one command run to completion."""

    seconds: float
    returncode: int
    cpu_seconds: (
        float  # user + system time of the whole tree (every waited-for process)
    )
    largest_process_bytes: int
    tree_peak_bytes: int
    tree_peak_pss_bytes: int
    root_peak_bytes: int


def run_measured(
    command: list[str], env: dict[str, str], log: Path, sample: bool = False
) -> Measured:
    """Run ``command`` from the kit's root, output to ``log``; with ``sample``, sample its
    tree's memory too. Timed runs go unsampled: the sampler's walks of ``/proc`` took
    about 4 % of a class's CPU from the command it watched (1.2 s of 31 s)."""
    with log.open("ab") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=KIT_ROOT, env=env, stdout=sink, stderr=sink
        )
        sampler = TreeMemory(process.pid)
        if sample:
            sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if sample:
            sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        seconds=seconds,
        returncode=process.returncode,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        largest_process_bytes=usage.ru_maxrss * 1024,
        tree_peak_bytes=sampler.peak_bytes,
        tree_peak_pss_bytes=sampler.peak_pss_bytes,
        root_peak_bytes=sampler.root_peak_bytes,
    )


def median_runs(
    command: list[str],
    env: dict[str, str],
    runs: int,
    log: Path,
    before_each: Callable[[], None] | None = None,
) -> list[float]:
    """One warm-up run, then ``runs`` timed runs; raise if any run fails.
    ``before_each`` (untimed) prepares every run, the warm-up's included."""
    times = []
    for index in range(runs + 1):
        if before_each is not None:
            before_each()
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


def variant_source(name: str, number: int = 1) -> str:
    """A generated submission of one variant (``vectorised`` is correct, ``no_scale``
    loses points), as a student would write it."""
    variant = next(v for v in VARIANTS if v.name == name)
    return variant.render(number, random.Random(number))


def correct_source() -> str:
    """A correct, vectorised submission, as a student would write it."""
    return variant_source("vectorised")


def gradebook_scores(path: Path) -> list[str]:
    """The score column of a gradebook.csv."""
    with path.open(newline="") as source:
        return [row["score"] for row in csv.DictReader(source)]


def grade_command(folder: Path, out: Path, python: Path, direct: bool) -> list[str]:
    """``make grade`` as a user types it (or, with ``direct``, the engine's own command)."""
    if direct:
        return [
            str(python),
            "-m",
            "autograder",
            "grade",
            str(folder),
            "--out",
            str(out),
        ]
    make = shutil.which("make") or "make"
    return [make, "-s", "grade", f"SUBMISSIONS={folder}", f"OUT={out}"]


def writer(path: Path, source: str, new_text: bool) -> Callable[[], None]:
    """Writes ``source`` to ``path`` before a run: with ``new_text``, with a comment that
    makes it a text no tool has seen (mypy and black must check it, as a new upload)."""

    def write() -> None:
        stamp = f"\n# submitted {time.time_ns():x}\n" if new_text else ""
        path.write_text(source + stamp)

    return write


def bench_single_make(
    table: Table,
    work: Path,
    args: argparse.Namespace,
    variant: str,
    label: str,
    new_text: bool = False,
) -> list[float]:
    """One submission through ``make grade`` (or the engine's command with ``--direct``),
    in a folder of its own, a fresh process each run; the run times. Without
    ``new_text`` every run grades the same file again (a regrade: mypy's and black's
    answers are kept), with it a text never graded before (mypy's numpy cache warm)."""
    name = f"one-{variant}{'-new' if new_text else ''}"
    folder = work / name
    folder.mkdir()
    write = writer(folder / "mhsa.py", variant_source(variant), new_text)
    out = work / f"{name}-out"
    command = grade_command(folder, out, args.grading_python, args.direct)
    shown = "`python -m autograder grade`" if args.direct else "`make grade`"
    times = median_runs(command, kit_env(), args.runs, work / "single.log", write)
    score = ",".join(gradebook_scores(out / "gradebook.csv"))
    target = "<= 0.6 s" if variant == "vectorised" else ""
    which = "never graded before" if new_text else "graded again"
    table.add(
        f"one {label}, {shown} ({which})", f"{spread(times)}, scored {score}/10", target
    )
    return times


def bench_single_gradescope(
    table: Table, work: Path, args: argparse.Namespace, new_text: bool
) -> list[float]:
    """One submission through Gradescope's ``run_autograder`` after ``setup.sh``'s warm-up:
    with ``new_text`` a text never graded before, as every upload is (Gradescope grades
    each in a fresh container of the image setup.sh built), else the same file again."""
    which = "never graded before, as every upload" if new_text else "graded again"
    label = f"one submission, Gradescope `run_autograder` ({which})"
    if not RUN_AUTOGRADER.exists():
        table.add(label, f"not measured: {RUN_AUTOGRADER} is not in this checkout")
        return []
    root = work / f"autograder-root{'-new' if new_text else ''}"
    source = root / "source"
    shutil.copytree(
        KIT_ROOT / "autograder",
        source / "autograder",
        ignore=shutil.ignore_patterns("__pycache__", ".cache", ".mypy_cache"),
    )
    (root / "submission").mkdir(parents=True)
    write = writer(root / "submission" / "mhsa.py", correct_source(), new_text)
    python = str(args.grading_python)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), MHSA_PYTHON=python)
    env.pop("PYTHONPATH", None)
    log = work / "gradescope.log"
    with log.open("ab") as sink:  # setup.sh's last step: fill caches, check confinement
        subprocess.run(
            [python, "-m", "autograder.deliver.gradescope_run", "--warm"],
            cwd=source,
            env=env,
            stdout=sink,
            stderr=sink,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    script = source / RUN_AUTOGRADER.relative_to(KIT_ROOT)
    times = median_runs(["bash", str(script)], env, args.runs, log, write)
    results = json.loads((root / "results" / "results.json").read_text())
    table.add(label, f"{spread(times)}, scored {results.get('score')}/10", "<= 0.5 s")
    return times


def bench_otter(
    table: Table, work: Path, args: argparse.Namespace, make_times: list[float]
) -> float | None:
    """``otter run -a dist/otter-autograder.zip`` on the same correct submission, measured
    in this run, and the ratio of ``make grade``'s median to Otter's; Otter's median
    (None when otter-grader is not installed)."""
    label = "the same submission, `otter run -a dist/otter-autograder.zip`"
    python = str(args.grading_python)
    log = work / "otter.log"
    archive = work / "dist" / "otter-autograder.zip"
    with log.open("ab") as sink:  # `make otter`, into the bench's own folder
        built = subprocess.run(
            [
                python,
                "-m",
                "autograder.deliver.package",
                "otter",
                "--out",
                str(archive),
            ],
            cwd=KIT_ROOT,
            env=kit_env(),
            stdout=sink,
            stderr=sink,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    otter = Path(python).with_name("otter")
    if built.returncode != 0 or not otter.exists():
        table.add(label, f"not measured: otter-grader is not installed ({python})")
        return None
    folder = work / "otter-run"
    folder.mkdir()
    submission = folder / "mhsa.py"
    submission.write_text(correct_source())
    command = [
        str(otter),
        "run",
        "-a",
        str(archive),
        "-o",
        str(folder),
        str(submission),
    ]
    times = median_runs(command, kit_env(), args.runs, log)
    otter_median = statistics.median(times)
    results = json.loads((folder / "results.json").read_text())
    total = sum(test.get("score", 0) for test in results.get("tests", []))
    table.add(label, f"{spread(times)}, scored {total:g}/10")
    if make_times:
        ratio = statistics.median(make_times) / otter_median
        table.add(
            "one submission never graded before: `make grade` / `otter run` "
            "(medians, same run)",
            f"{ratio:.2f}x",
            "<= 0.15x",
        )
    return otter_median


def bench_batch(
    table: Table, work: Path, args: argparse.Namespace, otter_seconds: float | None
) -> None:
    """A generated class graded as new (cold mypy cache for its files), then regraded,
    both timed with no observer; then the same mix, new again, with its memory sampled.

    Each batch's wall time is also given as a multiple of ``otter_seconds`` (Otter grading
    one submission in this run, when measured): work the batch does not share (Otter's own
    machinery, and the export's mypy run on numpy's stubs with a cold cache) on the same
    machine minutes apart, so the multiple moves less than the seconds when the machine's
    speed drifts from one run to the next (not when it changes within a run).
    """
    folder = work / "class"
    kinds = write_population(
        folder, args.count, seed=args.seed, hangs=args.hangs, salt=new_salt()
    )
    mix = Counter(kinds.values())
    described = (
        f"{args.count} generated submissions ({mix['correct']} correct, "
        f"{mix['mistaken']} mistaken, {mix['broken']} broken incl. {args.hangs} endless loop)"
    )
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    for attempt, name in enumerate(("new class", "regrade")):
        out = work / f"class-out-{attempt}"
        measured = run_measured(
            batch_command(folder, out, args), kit_env(), work / "batch.log"
        )
        rows = (
            len(gradebook_scores(out / "gradebook.csv"))
            if measured.returncode == 0
            else 0
        )
        figure = (
            f"{measured.seconds:.1f} s, {args.count / measured.seconds:.1f} submissions/s, "
            f"{jobs} workers, {rows} gradebook rows; {measured.cpu_seconds:.1f} s of CPU "
            "over the whole tree (steadier than wall time on a shared machine)"
            + (
                f"; {measured.seconds / otter_seconds:.2f}x this run's `otter run`"
                if otter_seconds
                else ""
            )
            if measured.returncode == 0
            else f"failed (exit {measured.returncode}); see {work / 'batch.log'}"
        )
        target = "<= 15 s for 200 on 2 cores"
        table.add(f"batch, {name}: {described}", figure, target)
        if not args.regrade:
            break
    bench_batch_memory(table, work, args)


def batch_command(folder: Path, out: Path, args: argparse.Namespace) -> list[str]:
    """``make grade`` over a class with the bench's ``JOBS`` (or the engine's command)."""
    command = grade_command(folder, out, args.grading_python, args.direct)
    return command + (
        ["--jobs", str(args.jobs)] if args.direct else [f"JOBS={args.jobs}"]
    )


def new_salt() -> str:
    """A stamp that makes every text of a generated class new to mypy and black."""
    return f"bench {time.time_ns():x}"


def bench_batch_memory(table: Table, work: Path, args: argparse.Namespace) -> None:
    """The same mix with fresh texts graded as a new class (mypy and black both run: the
    tree's largest), its memory sampled."""
    folder = work / "class-memory"
    write_population(
        folder, args.count, seed=args.seed, hangs=args.hangs, salt=new_salt()
    )
    command = batch_command(folder, work / "class-memory-out", args)
    measured = run_measured(command, kit_env(), work / "batch.log", sample=True)
    figure = (
        f"whole tree (make, grader, workers, mypy, black, children) "
        f"{measured.tree_peak_pss_bytes / MB:.0f} MB summed PSS "
        f"({measured.tree_peak_bytes / MB:.0f} MB summed RSS, which counts "
        f"pages shared by forked processes once each); the command's own "
        f"process {measured.root_peak_bytes / MB:.0f} MB RSS; largest process "
        f"{measured.largest_process_bytes / MB:.0f} MB (RSS sampled every "
        f"{SAMPLE_SECONDS * 1e3:.0f} ms, PSS every "
        f"{SAMPLE_SECONDS * PSS_EVERY * 1e3:.0f} ms, in a second new-class batch of "
        f"the same mix, {measured.seconds:.1f} s under the sampler)"
        if measured.returncode == 0
        else f"failed (exit {measured.returncode}); see {work / 'batch.log'}"
    )
    table.add("grader peak memory during a new-class batch", figure, "< 300 MB (PSS)")


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
    parser.add_argument(
        "--grading-python",
        type=lambda path: Path(os.path.abspath(path)),  # a venv's link, kept as a link
        default=GRADING_PYTHON if GRADING_PYTHON.exists() else Path(sys.executable),
        help="the grading venv's interpreter (make grade's; otter runs from it too)",
    )
    parser.add_argument("--no-regrade", dest="regrade", action="store_false")
    parser.add_argument("--no-otter", dest="otter", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    cpu_before = CpuTimes.now()
    marker_before = speed_marker(args.grading_python)
    table = Table()
    work = Path(tempfile.mkdtemp(prefix="mhsa-bench-"))
    print(f"make bench: working in {work}", file=sys.stderr)
    try:
        bench_single_make(table, work, args, "vectorised", "submission")
        make_times = bench_single_make(
            table, work, args, "vectorised", "submission", new_text=True
        )
        bench_single_make(
            table,
            work,
            args,
            "no_scale",
            "submission below full marks (the preflight's known-good graded too)",
        )
        bench_single_gradescope(table, work, args, new_text=False)
        bench_single_gradescope(table, work, args, new_text=True)
        otter_seconds = (
            bench_otter(table, work, args, make_times) if args.otter else None
        )
        bench_batch(table, work, args, otter_seconds)
        bench_reference(table, args.size)
        marker_after = speed_marker(args.grading_python)
        table.add(
            *machine_row(
                (marker_before, marker_after), steal_share(cpu_before, CpuTimes.now())
            )
        )
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
