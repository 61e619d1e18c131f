"""Prove the graded cases catch real mistakes: grade the mutant catalogue, print the matrix.

``tests/mutants/`` holds one small submission per misconception (a mutant of a correct
file) and ``tests/mutants/CATALOGUE.json`` says, for each, the rubric items it must lose and
a phrase its diagnosis must contain; ``tests/mutants/correct/`` holds correct submissions in
other styles, which must keep every point. ``python -m autograder.pipeline.mutants`` (``make
mutants``) grades all of them in one batch and prints mutant x rubric item: killed or not,
and whether the diagnosis matched. It exits non-zero when the catalogue's promises fail.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.config import KIT_ROOT, Limits, default_limits
from autograder.pipeline.batch import grade_folder
from autograder.score.result import GradeResult

CATALOGUE_DIR = KIT_ROOT / "tests" / "mutants"
CORRECT_PREFIX = "correct-"
SHORT = {
    "qkv.values": "qv",
    "qkv.shapes": "qs",
    "sdpa.values": "sv",
    "sdpa.stability": "st",
    "sdpa.shapes": "ss",
    "mha.values": "mv",
    "mha.shapes": "ms",
    "mha.bad_heads": "bh",
    "typing": "ty",
}


@dataclass(frozen=True)
class Entry:
    """One catalogued submission and what the grader must do with it."""

    name: str  # file name in the catalogue
    misconception: str
    lose: frozenset[str]  # empty for a correct style
    phrase: str  # must appear in its feedback; empty for a correct style

    @property
    def correct(self) -> bool:
        """A correct style, which must keep every point."""
        return not self.lose

    @property
    def submission(self) -> str:
        """Its id in the batch (correct styles are prefixed)."""
        stem = Path(self.name).stem
        return f"{CORRECT_PREFIX}{stem}" if self.correct else stem


@dataclass(frozen=True)
class Row:
    """What grading did to one catalogued submission."""

    entry: Entry
    result: GradeResult
    lost: frozenset[str]  # items scored below their maximum
    feedback: str  # results.json's outputs and feedback.md, as one text

    @property
    def killed(self) -> bool:
        """A mutant lost at least one item."""
        return bool(self.lost)

    @property
    def diagnosed(self) -> bool:
        """The expected phrase appears in what the student reads."""
        return bool(self.entry.phrase) and self.entry.phrase in self.feedback

    @property
    def as_expected(self) -> bool:
        """Lost exactly the items the catalogue says (none for a correct style)."""
        return self.lost == self.entry.lose

    @property
    def ok(self) -> bool:
        """Every promise of the catalogue holds for this row."""
        if self.entry.correct:
            return not self.lost and self.result.score == self.result.max_score
        return self.killed and self.diagnosed and self.as_expected


def load_catalogue(folder: Path = CATALOGUE_DIR) -> list[Entry]:
    """Mutants (from CATALOGUE.json) then correct styles (every file in correct/)."""
    data = json.loads((folder / "CATALOGUE.json").read_text())
    entries = [
        Entry(name, raw["misconception"], frozenset(raw["lose"]), raw["diagnosis"])
        for name, raw in data["mutants"].items()
    ]
    entries += [
        Entry(path.name, "correct", frozenset(), "")
        for path in sorted((folder / "correct").glob("*.py"))
    ]
    return entries


def grade_catalogue(
    entries: Sequence[Entry],
    out: Path,
    folder: Path = CATALOGUE_DIR,
    jobs: int = 2,
    limits: Limits | None = None,
) -> list[Row]:
    """Grade every entry in one batch into ``out`` and read back what students would see."""
    source = out / "submissions"
    source.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        origin = folder / ("correct" if entry.correct else "") / entry.name
        shutil.copyfile(origin, source / f"{entry.submission}.py")
    results = grade_folder(
        source, out / "graded", jobs, limits or default_limits(), quiet=True
    )
    by_id = {r.submission: r for r in results}
    rows = []
    for entry in entries:
        result = by_id[entry.submission]
        graded = out / "graded" / entry.submission
        document = json.loads((graded / "results.json").read_text())
        texts = [document.get("output", "")] + [t["output"] for t in document["tests"]]
        texts.append((graded / "feedback.md").read_text())
        lost = frozenset(
            i.id for i in result.items if i.max_score > 0 and i.score < i.max_score
        )
        rows.append(Row(entry, result, lost, "\n".join(texts)))
    return rows


def matrix(rows: Sequence[Row]) -> str:
    """The mutant x rubric item table, a legend and the totals."""
    width = max(len(r.entry.submission) for r in rows) + 2
    head = "".join(f"{code:>4}" for code in SHORT.values())
    lines = [f"{'submission':<{width}}{head}  score   killed diagnosed expected"]
    for row in rows:
        cells = ""
        for item in SHORT:
            lost, due = item in row.lost, item in row.entry.lose
            mark = ("X" if due else "!") if lost else ("?" if due else ".")
            cells += f"{mark:>4}"
        mutant = not row.entry.correct
        score = f"{row.result.score:g}/{row.result.max_score:g}"
        killed = ("yes" if row.killed else "NO") if mutant else "-"
        diagnosed = ("yes" if row.diagnosed else "NO") if mutant else "-"
        expected = "yes" if (row.as_expected if mutant else row.ok) else "NO"
        lines.append(
            f"{row.entry.submission:<{width}}{cells}  {score:<7} {killed:<6} "
            f"{diagnosed:<9} {expected}"
        )
    mutants = [r for r in rows if not r.entry.correct]
    correct = [r for r in rows if r.entry.correct]
    alarms = [r for r in correct if not r.ok]
    lines += [
        "",
        "X lost, as the catalogue says   . kept   ! lost unexpectedly   ? should have "
        "been lost",
        "columns: " + ", ".join(f"{code}={item}" for item, code in SHORT.items()),
        "",
        f"mutants killed: {sum(r.killed for r in mutants)}/{len(mutants)}; "
        f"diagnosed: {sum(r.diagnosed for r in mutants)}/{len(mutants)}; "
        f"losses as catalogued: {sum(r.as_expected for r in mutants)}/{len(mutants)}; "
        f"correct styles at full marks: {len(correct) - len(alarms)}/{len(correct)} "
        f"(false alarms: {len(alarms)})",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``make mutants``: grade the catalogue, print the matrix, fail on a broken promise."""
    parser = argparse.ArgumentParser(prog="python -m autograder.pipeline.mutants")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--keep", type=Path, help="grade into this folder and keep the reports"
    )
    args = parser.parse_args(argv)
    entries = load_catalogue()
    if args.keep:
        rows = grade_catalogue(entries, args.keep, jobs=args.jobs)
    else:
        with tempfile.TemporaryDirectory(prefix="mhsa-mutants-") as folder:
            rows = grade_catalogue(entries, Path(folder), jobs=args.jobs)
    print(matrix(rows))
    failed = [r.entry.submission for r in rows if not r.ok]
    if failed:
        print(f"broken promises: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
