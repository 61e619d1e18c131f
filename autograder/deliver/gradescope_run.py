"""Gradescope's ``run_autograder``: grade the one submission of ``$AUTOGRADER_ROOT`` (default
``/autograder``) with the kit's engine and write ``results/results.json``.

The document is the one ``make grade`` writes for the same file (same intake, static checks,
confined child, cases and rubric), so the two paths give the same scores. Before any
student code starts, the kit's source (which holds the hidden fixtures), the submission
folder, its metadata and the results folder are closed to other users; the student's code
then runs in the sandbox's child under an unprivileged uid.

A fault of the grader or of its machine is never recorded as a score. When the submission
scores below full marks, the preflight grades a known-good submission through the same path
before results.json is written; if that does not earn full marks, or the grader fails in
any other way, no results.json is written and the run exits non-zero:
Gradescope then shows "The autograder failed to execute correctly" and records no score,
and the cause is in the log (stdout, which Gradescope shows to instructors only).

``--warm`` is setup.sh's last step: it compiles the kit's byte-code and fills the mypy and
black caches, then grades a probe submission (with the same preflight) and fails unless
student code ran unprivileged and could not read the kit's source.
"""

# ruff: noqa: E402
# (use_one_blas_thread() first: numpy, imported later by the kit, reads it once)
from __future__ import annotations

import argparse
import os
import re
import sys
import time
import traceback
from pathlib import Path

from autograder.config import (
    KIT_ROOT,
    PACKAGE_DIR,
    RUBRIC_FILE,
    Limits,
    default_limits,
    use_one_blas_thread,
)

use_one_blas_thread()

from autograder.confine.protect import protect
from autograder.intake.discover import student_submission
from autograder.intake.manifest import Entry
from autograder.intake.roster import run_metadata
from autograder.intake.submission import Submission
from autograder.pipeline.preflight import EnvironmentFault, grade_in_turn
from autograder.pipeline.quick_exit import quick_exit
from autograder.report.results_json import write_results
from autograder.score.result import GradeResult

DEFAULT_ROOT = Path("/autograder")
SUBMISSION_ID = "submission"
PRINTED_SHOWN = 2000
FAILED_EXIT = 1  # no results.json and a non-zero exit: Gradescope's autograder failure

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


def grade_submission(submission: Submission, limits: Limits) -> GradeResult:
    """Static checks, the confined run and scoring, then the preflight when the score is
    below full: ``make grade``'s engine. Raises ``EnvironmentFault`` when the known-good
    submission is not full."""
    return grade_in_turn([submission], limits)[submission.id]


def instructor_log(
    result: GradeResult, seconds: float, manifest: list[Entry] | None = None
) -> str:
    """What Gradescope's instructor-only stdout shows for one run."""
    from autograder.confine.probe import detect_confinement  # probed by then, cached

    lines = [
        f"graded {result.file_name or '(no file)'} for {result.student or '(unknown)'} "
        f"in {seconds:.1f} s",
        f"score {result.score:g} / {result.max_score:g}, status {result.status}"
        + (f": {result.status_message}" if result.status_message else ""),
        f"student code confinement: {detect_confinement().describe()}",
    ]
    lines += [
        f"not graded: {entry.path} ({entry.detail})"
        for entry in manifest or []
        if entry.outcome == "ignored"
    ]
    lines += result.notes
    lines += [f"grader error: {error}" for error in result.internal_errors]
    if result.printed:
        lines += ["what the submission printed:", result.printed[:PRINTED_SHOWN]]
    return "\n".join(lines)


def fail(target: Path, problem: BaseException) -> int:
    """End without a score: no results.json, the cause in the log, a non-zero exit."""
    target.unlink(missing_ok=True)
    print("The autograder failed; no score was recorded for this submission.")
    if isinstance(problem, EnvironmentFault):
        print(problem)
    else:
        traceback.print_exception(
            type(problem), problem, problem.__traceback__, file=sys.stdout
        )
    return FAILED_EXIT


def run(root: Path, limits: Limits) -> int:
    """Grade ``root/submission`` into ``root/results/results.json``.

    Returns 0 with a results.json, or ``FAILED_EXIT`` without one when the grader or its
    machine failed (never a score the student did not earn).
    """
    started = time.monotonic()
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    target = results / "results.json"
    try:
        protect(
            [
                KIT_ROOT,
                root / "submission",
                root / "submission_metadata.json",
                results,
            ]
        )
        who = run_metadata(root / "submission_metadata.json")
        submission, manifest = student_submission(
            root / "submission", SUBMISSION_ID, who
        )
        result = grade_submission(submission, limits)
        if result.status == "internal_error":
            raise EnvironmentFault(
                "the grader failed on this submission: "
                + " | ".join(result.internal_errors or [result.status_message])
            )
        write_results(result, target)
    except Exception as exc:  # a fault of the grader or its machine: no score at all
        return fail(target, exc)
    print(instructor_log(result, time.monotonic() - started, manifest))
    return 0


def warm(limits: Limits) -> int:
    """setup.sh's self-check: fill caches (the kit's byte-code, mypy's), then prove student
    code runs confined here."""
    import compileall  # every later run_autograder then loads the kit without compiling

    compileall.compile_dir(PACKAGE_DIR, quiet=1)
    protect([KIT_ROOT])
    probe = Submission(
        "probe",
        "mhsa.py",
        PROBE_SOURCE.format(secret=str(RUBRIC_FILE)).encode(),
    )
    try:
        result = grade_submission(probe, limits)
    except EnvironmentFault as exc:
        print(f"setup check failed: {exc}", file=sys.stderr)
        return 1
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
    """``python -m autograder.deliver.gradescope_run [--warm]`` from the kit's source folder."""
    parser = argparse.ArgumentParser(prog="python -m autograder.deliver.gradescope_run")
    parser.add_argument(
        "--warm", action="store_true", help="setup.sh: fill caches, check confinement"
    )
    args = parser.parse_args(argv)
    limits = default_limits()
    return warm(limits) if args.warm else run(autograder_root(), limits)


if __name__ == "__main__":
    quick_exit(main())
