"""Gradescope's ``run_autograder``: grade the one submission of ``$AUTOGRADER_ROOT`` (default
``/autograder``) with the kit's engine and write ``results/results.json``.

The document is the one ``make grade`` writes for the same file (same static checks, same
confined child, same cases, same rubric), so the two paths give the same scores. Before any
student code starts, the kit's source (which holds the hidden fixtures), the submission
folder, its metadata and the results folder are closed to other users; the student's code
then runs in the sandbox's child under an unprivileged uid. Whatever happens, a results.json
is written: a grader failure becomes a zero that tells the student to contact the staff, and
its details go to stdout, which Gradescope shows to instructors only.

``--warm`` is setup.sh's last step: it fills the mypy cache, then grades a probe submission
and fails unless student code ran unprivileged and could not read the kit's source.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

from autograder.batch import failed_row, grade_one, static_reports
from autograder.casebook import load_cases
from autograder.config import KIT_ROOT, RUBRIC_FILE, Limits, default_limits
from autograder.discover import Submission, from_student_folder
from autograder.gradescope import write_results
from autograder.grading import GradeResult
from autograder.rubric import load_rubric
from autograder.sandbox import detect_confinement, protect

DEFAULT_ROOT = Path("/autograder")
SUBMISSION_ID = "submission"
PRINTED_SHOWN = 2000
LAST_RESORT = {
    "score": 0.0,
    "output": "The autograder failed on its side (not because of your code). "
    "Please tell the course staff; they can see what went wrong.",
    "visibility": "visible",
    "stdout_visibility": "hidden",
}

# A submission whose create_qkv reports who runs it and whether the kit's files are
# readable; the other functions are correct so the run also proves numpy works there.
PROBE_SOURCE = '''"""setup.sh's probe: who runs student code, and what can it read?"""

import os

import numpy as np

SECRET = {secret!r}


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        with open(SECRET, "rb") as handle:
            handle.read(1)
        seen = "readable"
    except OSError as exc:
        seen = type(exc).__name__
    raise RuntimeError(f"probe uid={{os.getuid()}} kit={{seen}}")


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    scores = Q @ np.swapaxes(K, -1, -2) * scale
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)) @ V


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    raise NotImplementedError
'''
PROBE_REPORT = re.compile(r"probe uid=(?P<uid>\d+) kit=(?P<kit>\w+)")


def autograder_root() -> Path:
    """``$AUTOGRADER_ROOT``, else Gradescope's ``/autograder``."""
    return Path(os.environ.get("AUTOGRADER_ROOT") or DEFAULT_ROOT)


def submitters(root: Path) -> str:
    """``Name <email>`` of each user in Gradescope's submission_metadata.json (for the log)."""
    try:
        users = json.loads((root / "submission_metadata.json").read_text()).get("users")
    except (OSError, ValueError, AttributeError):
        return ""
    if not isinstance(users, list):
        return ""
    people = [
        f"{user.get('name', '')} <{user.get('email', '')}>"
        for user in users
        if isinstance(user, dict)
    ]
    return "; ".join(people)


def grade_submission(submission: Submission, limits: Limits) -> GradeResult:
    """Static checks, then the confined run and scoring: the engine ``make grade`` uses."""
    statics = static_reports([submission])
    return grade_one(
        submission, statics[submission.id], load_cases(), load_rubric(), limits
    )


def instructor_log(result: GradeResult, seconds: float) -> str:
    """What Gradescope's instructor-only stdout shows for one run."""
    lines = [
        f"graded {result.file_name or '(no file)'} for {result.student or '(unknown)'} "
        f"in {seconds:.1f} s",
        f"score {result.score:g} / {result.max_score:g}, status {result.status}"
        + (f": {result.status_message}" if result.status_message else ""),
        f"student code confinement: {detect_confinement().describe()}",
    ]
    lines += [f"grader error: {error}" for error in result.internal_errors]
    if result.printed:
        lines += ["what the submission printed:", result.printed[:PRINTED_SHOWN]]
    return "\n".join(lines)


def write_failure(
    submission: Submission | None, path: Path, problem: BaseException
) -> None:
    """A zero results.json after a grader failure, through the engine when it still loads."""
    print("the grader failed:", file=sys.stdout)
    traceback.print_exception(
        type(problem), problem, problem.__traceback__, file=sys.stdout
    )
    try:
        assert submission is not None
        row = failed_row(
            submission,
            load_rubric(),
            "internal_error",
            "the autograder failed on its side (not because of your code); "
            "please tell the course staff",
        )
        write_results(row, path)
    except BaseException:  # noqa: B036 - the last resort must always leave a file
        traceback.print_exc(file=sys.stdout)
        path.write_text(json.dumps(LAST_RESORT, indent=2) + "\n")


def run(root: Path, limits: Limits) -> int:
    """Grade ``root/submission`` into ``root/results/results.json``; always writes it."""
    started = time.monotonic()
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    target = results / "results.json"
    submission: Submission | None = None
    try:
        protect(
            [
                KIT_ROOT,
                root / "submission",
                root / "submission_metadata.json",
                results,
            ]
        )
        submission = from_student_folder(
            root / "submission", SUBMISSION_ID, submitters(root)
        )
        result = grade_submission(submission, limits)
        write_results(result, target)
    except Exception as exc:  # a grader failure must still leave a results.json
        write_failure(submission, target, exc)
        return 0
    print(instructor_log(result, time.monotonic() - started))
    return 0


def warm(limits: Limits) -> int:
    """setup.sh's self-check: fill caches, then prove student code runs confined here."""
    protect([KIT_ROOT])
    probe = Submission(
        "probe",
        "mhsa.py",
        PROBE_SOURCE.format(secret=str(RUBRIC_FILE)).encode(),
    )
    result = grade_submission(probe, limits)
    messages = [r.message for item in result.items for r in item.results]
    report = next((m for m in map(PROBE_REPORT.search, messages) if m), None)
    print(instructor_log(result, result.seconds))
    if report is None:
        print("setup check failed: the probe submission did not run", file=sys.stderr)
        return 1
    uid, kit = int(report["uid"]), report["kit"]
    print(f"probe: student code ran as uid {uid}; the kit's files were {kit}")
    if os.geteuid() == 0 and (uid == 0 or kit == "readable"):
        print("setup check failed: student code is not confined", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope_run [--warm]`` from the kit's source folder."""
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope_run")
    parser.add_argument(
        "--warm", action="store_true", help="setup.sh: fill caches, check confinement"
    )
    args = parser.parse_args(argv)
    limits = default_limits()
    return warm(limits) if args.warm else run(autograder_root(), limits)


if __name__ == "__main__":
    sys.exit(main())
