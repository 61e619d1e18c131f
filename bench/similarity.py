"""Benchmark: rank every pair of a 300-submission class by similarity (the n^2 part).

Run from the checkout root: ``python -m bench.similarity [--students 300]``.

The class is built from every Python file the kit ships as a submission (bundled examples,
crafted and mutant test submissions, the reference), each student taking one of them and
disguising it: local names renamed, comments added, blank lines changed. So the class holds
many near-copies (the worst case for the number of pairs sharing fingerprints) and the
timing covers tokenising, fingerprinting and comparing all pairs.
"""

from __future__ import annotations

import argparse
import random
import re
import time

from autograder.config import KIT_ROOT
from autograder.report.similarity import compare, read_skeleton

POOL = [
    *sorted((KIT_ROOT / "examples" / "submissions").glob("*.py")),
    *sorted((KIT_ROOT / "tests" / "submissions").glob("*.py")),
    *sorted((KIT_ROOT / "tests" / "mutants").glob("*.py")),
    KIT_ROOT / "solution" / "mhsa.py",
]
RENAMABLE = ("scores", "weights", "output", "head_dim", "heads", "shifted", "exps")


def disguise(source: str, rng: random.Random) -> str:
    """Rename some locals, add comments and blank lines: what a copier would do."""
    for name in rng.sample(RENAMABLE, k=3):
        source = re.sub(rf"\b{name}\b", f"{name[:2]}_{rng.randrange(1000)}", source)
    lines = []
    for line in source.splitlines():
        lines.append(line)
        if line.strip() and rng.random() < 0.05:
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}# note {rng.randrange(10**6)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Build the class, time one ``compare``, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.similarity")
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = [path.read_text() for path in POOL if path.is_file()]
    sources = {
        f"student{i:03d}": disguise(rng.choice(pool), rng).encode()
        for i in range(args.students)
    }
    started = time.perf_counter()
    report = compare(sources, read_skeleton())
    seconds = time.perf_counter() - started
    pairs = args.students * (args.students - 1) // 2
    print(
        f"{args.students} submissions from {len(pool)} originals: {pairs} pairs, "
        f"{len(report.pairs)} sharing fingerprints, {len(report.flagged)} flagged, "
        f"{report.common_dropped} common fingerprints dropped; {seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
