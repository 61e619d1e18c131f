"""How fast the machine was while the bench ran: the conditions every figure needs.

On a shared 2-core machine the same commands measured up to twice as slow from one hour to
the next, the CPU time of the same work growing with them (``docs/performance.md``), so a
table means little without a reading of the machine beside it. Three readings:

- the **speed marker**: a fixed piece of work like the grader's own per-call work (small
  numpy arrays, JSON frames, Python bytecode) timed as CPU time in a fresh grading
  interpreter, the median of five, before the first figure and after the last. With
  the same interpreter and numpy only the machine changes it (lower is quicker), though
  even an idle machine's single readings spread by a fifth or more from one second to
  the next;
- the **steal share**: of the CPU time the machine accounted during the bench, the part
  its hypervisor ran other guests in (``/proc/stat``'s steal column);
- the load average before and after (other jobs on this machine; ``run.machine_line``).
"""

from __future__ import annotations

import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER_RUNS = 5
MARKER_WORK = r"""
import json, time
import numpy as np
values = np.random.default_rng(0).standard_normal((2, 5, 16))
start = time.process_time()
total = 0.0
for step in range(4000):
    scores = values @ np.swapaxes(values, -1, -2) / 4.0
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    total += float((weights / weights.sum(axis=-1, keepdims=True)).sum())
    frame = json.loads(json.dumps({"status": "ok", "shape": [2, 5, 16], "step": step}))
    total += len(frame["shape"])
print(round((time.process_time() - start) * 1000, 1), total > 0)
"""


def speed_marker(python: Path) -> float | None:
    """Milliseconds of CPU time the marker's work took in ``python`` (median of five),
    None if it could not run."""
    readings = []
    for _ in range(MARKER_RUNS):
        try:
            done = subprocess.run(
                [str(python), "-I", "-c", MARKER_WORK],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        words = done.stdout.split()
        if done.returncode != 0 or words[1:] != ["True"]:
            return None
        readings.append(float(words[0]))
    return statistics.median(readings)


@dataclass(frozen=True)
class CpuTimes:
    """The machine's CPU time counters (``/proc/stat``'s first line), in clock ticks."""

    total: int
    steal: int

    @classmethod
    def parse(cls, line: str) -> CpuTimes:
        """From ``cpu  user nice system idle iowait irq softirq steal ...``."""
        ticks = [int(word) for word in line.split()[1:]]
        return cls(total=sum(ticks[:8]), steal=ticks[7] if len(ticks) > 7 else 0)

    @classmethod
    def now(cls) -> CpuTimes | None:
        """The counters now, None where ``/proc/stat`` cannot be read."""
        try:
            with open("/proc/stat") as stat:
                return cls.parse(stat.readline())
        except (OSError, ValueError, IndexError):
            return None


def steal_share(before: CpuTimes | None, after: CpuTimes | None) -> float | None:
    """The share of the CPU time between two readings that went to other guests."""
    if before is None or after is None or after.total <= before.total:
        return None
    return (after.steal - before.steal) / (after.total - before.total)


def machine_row(
    markers: tuple[float | None, float | None], steal: float | None
) -> tuple[str, str]:
    """The table's row for the machine: the speed marker's two readings and the steal."""
    shown = [f"{ms:.0f} ms" if ms is not None else "not measured" for ms in markers]
    stolen = f"{steal:.1%}" if steal is not None else "not measured"
    return (
        "the machine: speed marker (a fixed piece of grader-like work, CPU time; lower "
        "is quicker) and the CPU time its host gave to others during the bench",
        f"{shown[0]} before the first figure, {shown[1]} after the last; {stolen} stolen",
    )
