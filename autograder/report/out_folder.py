"""Write what a batch produced for each submission, and the terminal's table.

Called only by the grader's main process after every child process tree is gone.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from autograder.intake.submission import Submission
from autograder.report.feedback import feedback_markdown, points
from autograder.report.gradebook import CANVAS_CSV, GRADEBOOK_CSV, GRADESCOPE_CSV
from autograder.report.manifest_csv import MANIFEST_CSV
from autograder.report.results_json import write_results
from autograder.report.summary import ITEMS_PNG, SCORES_PNG, SIMILARITY_CSV, SUMMARY_MD
from autograder.score.result import GradeResult

BATCH_FILES = (
    GRADEBOOK_CSV,
    CANVAS_CSV,
    GRADESCOPE_CSV,
    MANIFEST_CSV,
    SUMMARY_MD,
    SCORES_PNG,
    ITEMS_PNG,
    SIMILARITY_CSV,
)
SUBMISSION_FILES = ("results.json", "feedback.md")  # a folder holding one is the kit's
NAMES_SHOWN = 40  # characters of the submitters' names in the terminal table


def write_submission(result: GradeResult, out: Path) -> None:
    """``OUT/<id>/results.json`` and ``OUT/<id>/feedback.md``, replacing older ones.

    What the student's code printed goes to ``OUT/<id>/printed.txt`` for staff only: it may
    echo hidden-case inputs, so it never enters the student-facing files.
    """
    folder = out / result.submission
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_results(result, folder / "results.json")
    (folder / "feedback.md").write_text(feedback_markdown(result))
    if result.printed:
        (folder / "printed.txt").write_text(result.printed + "\n")


def clear_out(out: Path) -> list[str]:
    """Remove what earlier runs wrote into ``out`` (``--fresh``); return what was left.

    Only the kit's own files go: the batch files and every folder holding a
    ``results.json`` or ``feedback.md``. Anything else stays, and is named.
    """
    left = []
    for entry in sorted(out.iterdir()):
        if entry.is_file() and entry.name in BATCH_FILES:
            entry.unlink()
        elif (
            entry.is_dir()
            and not entry.is_symlink()
            and any((entry / name).is_file() for name in SUBMISSION_FILES)
        ):
            shutil.rmtree(entry)
        else:
            left.append(entry.name)
    return left


def terminal_table(
    results: Sequence[GradeResult], submissions: Sequence[Submission]
) -> str:
    """A short plain-text table for the terminal, naming students where known."""
    names = {sub.id: sub.names for sub in submissions}
    width = max([len(r.submission) for r in results] + [10])
    shown = {
        r.submission: _cut(names.get(r.submission, ""), NAMES_SHOWN) for r in results
    }
    named = any(shown.values())  # a folder of files names nobody: no empty column
    name_width = max([len(n) for n in shown.values()] + [7])
    student = f"{'student':<{name_width}}  " if named else ""
    lines = [f"{'submission':<{width}}  {student}{'score':>7}  status"]
    for result in results:
        score = (
            f"{points(result.score)}/{points(result.max_score)}"
            if result.status != "internal_error"
            else "-"
        )
        who = f"{shown[result.submission]:<{name_width}}  " if named else ""
        lines.append(f"{result.submission:<{width}}  {who}{score:>7}  {result.status}")
    return "\n".join(lines)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
