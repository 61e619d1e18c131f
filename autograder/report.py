"""Write what a batch produced: per-submission folders and the gradebook, then a table.

Called only by the grader's main process after every child process tree is gone.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from autograder.feedback import feedback_markdown, points
from autograder.gradescope import write_results
from autograder.grading import GradeResult
from autograder.rubric import Rubric

FIXED_COLUMNS = ["submission", "student", "score", "max_score", "status"]


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


def spreadsheet_safe(text: str) -> str:
    """Defuse a cell a spreadsheet would read as a formula (a student's name is data)."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def write_gradebook(results: list[GradeResult], rubric: Rubric, path: Path) -> None:
    """One row per submission: fixed columns, then one per rubric item."""
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(FIXED_COLUMNS + [item.id for item in rubric.items])
        for result in results:
            scores = {item.id: item.score for item in result.items}
            writer.writerow(
                [
                    spreadsheet_safe(result.submission),
                    spreadsheet_safe(result.student),
                    points(result.score),
                    points(result.max_score),
                    result.status,
                ]
                + [points(scores.get(item.id, 0.0)) for item in rubric.items]
            )


def terminal_table(results: list[GradeResult]) -> str:
    """A short plain-text table for the terminal."""
    width = max([len(r.submission) for r in results] + [10])
    lines = [f"{'submission':<{width}}  {'score':>7}  status"]
    for result in results:
        score = f"{points(result.score)}/{points(result.max_score)}"
        lines.append(f"{result.submission:<{width}}  {score:>7}  {result.status}")
    return "\n".join(lines)
