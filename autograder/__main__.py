"""Command line: ``python -m autograder grade SUBMISSIONS --out OUT [--jobs N] [--fresh]``.

Bad input (a missing path, an unreadable archive, a gradebook in OUT that cannot be merged,
nothing to grade) ends with one line on stderr and exit status 2; a broken grading
environment (the preflight's known-good submission was not full) with a message for staff
and exit status 3. Neither writes a student's row.
"""

# ruff: noqa: E402
# (use_one_blas_thread() first: numpy, imported later by the kit, reads it once)
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.config import default_limits, use_one_blas_thread

use_one_blas_thread()

from autograder.confine.mode import SandboxUnavailable
from autograder.intake.submission import IntakeError
from autograder.pipeline.batch import grade_folder
from autograder.pipeline.preflight import EnvironmentFault
from autograder.pipeline.quick_exit import quick_exit
from autograder.report.gradebook import GradebookError

BAD_INPUT, BROKEN_ENVIRONMENT = 2, 3


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the chosen verb."""
    parser = argparse.ArgumentParser(prog="python -m autograder")
    verbs = parser.add_subparsers(dest="verb", required=True)
    grade = verbs.add_parser(
        "grade", help="grade a folder, an archive, a .py or an .ipynb file"
    )
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--out", type=Path, default=Path("out"))
    grade.add_argument(
        "--jobs", type=int, default=0, help="worker processes (0: one per core)"
    )
    grade.add_argument(
        "--fresh",
        action="store_true",
        help="start from an empty OUT instead of merging into its gradebook",
    )
    grade.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        grade_folder(
            args.submissions,
            args.out,
            args.jobs,
            default_limits(),
            args.quiet,
            args.fresh,
        )
    except (IntakeError, GradebookError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT
    except (EnvironmentFault, SandboxUnavailable) as exc:
        print(f"error (for staff): {exc}", file=sys.stderr)
        return BROKEN_ENVIRONMENT
    return 0


if __name__ == "__main__":
    quick_exit(main())
