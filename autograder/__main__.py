"""Command line: ``python -m autograder grade SUBMISSIONS --out OUT [--jobs N]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.batch import grade_folder
from autograder.config import default_limits


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the chosen verb."""
    parser = argparse.ArgumentParser(prog="python -m autograder")
    verbs = parser.add_subparsers(dest="verb", required=True)
    grade = verbs.add_parser("grade", help="grade a folder, a .zip or a single .py")
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--out", type=Path, default=Path("out"))
    grade.add_argument(
        "--jobs", type=int, default=0, help="worker processes (0: one per core)"
    )
    grade.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.verb == "grade":
        if not args.submissions.exists():
            print(f"error: {args.submissions} does not exist", file=sys.stderr)
            return 2
        grade_folder(
            args.submissions, args.out, args.jobs, default_limits(), args.quiet
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
