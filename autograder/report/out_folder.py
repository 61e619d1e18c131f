"""Write what a batch produced for each submission, and clear an OUT folder for ``--fresh``.

Called only by the grader's main process after every child process tree is gone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.report.charts import ITEMS_PNG, SCORES_PNG
from autograder.report.feedback import feedback_markdown
from autograder.report.gradebook import CANVAS_CSV, GRADEBOOK_CSV, GRADESCOPE_CSV
from autograder.report.manifest_csv import MANIFEST_CSV
from autograder.report.results_json import write_results
from autograder.report.similarity import SIMILARITY_CSV
from autograder.report.summary import SUMMARY_MD
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
