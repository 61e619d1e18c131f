"""The class summary: right numbers for the bundled examples, real charts, trouble listed.

Numbers are recomputed here from the gradebook the same batch wrote, not hard-coded, so the
tests pin the summary's arithmetic and definitions rather than today's example scores.
"""

from __future__ import annotations

import csv
import re
import statistics
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from matplotlib.image import imread

from autograder.config import KIT_ROOT
from autograder.intake.discover import discover
from autograder.pipeline.batch import grade_folder
from autograder.report import summary as summary_module
from autograder.report.charts import FIGURE_DPI, FIGURE_INCHES, ITEMS_PNG, SCORES_PNG
from autograder.report.class_stats import BINS, symptom
from autograder.report.feedback import points
from autograder.report.similarity import SIMILARITY_CSV
from autograder.report.summary import SUMMARY_MD, write_class_reports
from autograder.score.rubric import load_rubric
from tests.conftest import EXAMPLES, TEST_LIMITS, GradedBatch

RUBRIC = load_rubric()
EXAMPLE_IDS = sorted(p.stem for p in EXAMPLES.glob("*.py"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def examples(graded: GradedBatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The class reports of the bundled examples alone, from the session's graded batch.

    ``write_class_reports`` is the call ``grade_folder`` makes at the end of a batch.
    """
    out = tmp_path_factory.mktemp("examples-summary")
    results = [graded.results[name] for name in EXAMPLE_IDS]
    digest = write_class_reports(results, RUBRIC, discover(EXAMPLES).submissions, out)
    (out / "digest.txt").write_text(digest)
    return out


def example_rows(graded: GradedBatch) -> list[dict[str, str]]:
    """The gradebook rows of the bundled examples."""
    return [row for row in graded.gradebook() if row["submission"] in EXAMPLE_IDS]


def table_value(markdown: str, label: str) -> str:
    """The value cell of ``| label | value |`` in summary.md."""
    found = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", markdown, re.MULTILINE)
    assert found, f"no {label!r} row"
    return found.group(1)


def line_starting(markdown: str, prefix: str) -> str:
    """The first line of ``markdown`` that starts with ``prefix``."""
    found = [line for line in markdown.splitlines() if line.startswith(prefix)]
    assert found, f"no line starts with {prefix!r}"
    return found[0]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE and header[12:16] == b"IHDR"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_a_batch_leaves_the_class_reports_in_out(graded: GradedBatch) -> None:
    for name in (SUMMARY_MD, SCORES_PNG, ITEMS_PNG, SIMILARITY_CSV):
        assert (graded.out / name).is_file(), name
    markdown = (graded.out / SUMMARY_MD).read_text()
    assert f"]({SCORES_PNG})" in markdown and f"]({ITEMS_PNG})" in markdown
    assert table_value(markdown, "submissions") == str(len(graded.gradebook()))


def test_count_mean_and_median_match_the_gradebook(
    graded: GradedBatch, examples: Path
) -> None:
    markdown = (examples / SUMMARY_MD).read_text()
    scores = [float(row["score"]) for row in example_rows(graded)]
    assert len(scores) == len(EXAMPLE_IDS) > 0
    out_of = points(RUBRIC.max_score)
    assert table_value(markdown, "submissions") == str(len(EXAMPLE_IDS))
    assert (
        table_value(markdown, "mean")
        == f"{points(statistics.fmean(scores))} / {out_of}"
    )
    assert (
        table_value(markdown, "median")
        == f"{points(statistics.median(scores))} / {out_of}"
    )
    assert table_value(markdown, "lowest") == f"{points(min(scores))} / {out_of}"
    assert table_value(markdown, "full marks") == str(
        sum(s == RUBRIC.max_score for s in scores)
    )


def test_score_distribution_counts_each_score_in_its_bin(
    graded: GradedBatch, examples: Path
) -> None:
    markdown = (examples / SUMMARY_MD).read_text()
    width = RUBRIC.max_score / BINS
    expected = Counter(
        min(int(float(row["score"]) // width), BINS - 1) for row in example_rows(graded)
    )
    rows = re.findall(
        r"^\| \[([\d.]+), [\d.]+[)\]] \| (\d+) \|$", markdown, re.MULTILINE
    )
    assert len(rows) == BINS
    assert {int(float(low) / width + 0.5): int(n) for low, n in rows} == {
        b: expected.get(b, 0) for b in range(BINS)
    }


def test_item_pass_rates_match_the_gradebook(
    graded: GradedBatch, examples: Path
) -> None:
    markdown = (examples / SUMMARY_MD).read_text()
    rows = example_rows(graded)
    for item in RUBRIC.items:
        if item.points == 0:
            continue
        full = sum(float(row[item.id]) == item.points for row in rows)
        mean = statistics.fmean(float(row[item.id]) / item.points for row in rows)
        line = next(t for t in markdown.splitlines() if f"(`{item.id}`)" in t)
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert (
            cells[2] == f"{100 * full / len(rows):.0f}% ({full}/{len(rows)})"
        ), item.id
        assert cells[3] == f"{100 * mean:.0f}%", item.id


def test_charts_are_real_pngs_of_the_set_size(examples: Path) -> None:
    wanted = (
        round(FIGURE_INCHES[0] * FIGURE_DPI),
        round(FIGURE_INCHES[1] * FIGURE_DPI),
    )
    for name in (SCORES_PNG, ITEMS_PNG):
        assert png_size(examples / name) == wanted, name
        pixels = imread(examples / name)
        assert pixels.shape[:2] == (wanted[1], wanted[0])
        assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[-1])[::97]}) > 5


def test_common_mistakes_count_each_diagnosis_once_per_submission(
    graded: GradedBatch, examples: Path
) -> None:
    markdown = (examples / SUMMARY_MD).read_text()
    who: dict[str, set[str]] = {}
    for name in EXAMPLE_IDS:
        for item in graded.results[name].items:
            for case in item.results:
                if case.diagnosis:
                    who.setdefault(case.diagnosis, set()).add(name)
    assert who, "the bundled examples should contain diagnosed mistakes"
    for diagnosis, names in who.items():
        line = line_starting(markdown, f"| {diagnosis} |")
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1:3] == ["diagnosed", str(len(names))]
        assert set(cells[4].split(", ")) == names


def test_undiagnosed_failures_are_grouped_by_symptom(
    graded: GradedBatch, examples: Path
) -> None:
    markdown = (examples / SUMMARY_MD).read_text()
    for name in EXAMPLE_IDS:
        for item in graded.results[name].items:
            for case in item.results:
                if case.passed or case.diagnosis or item.max_score == 0:
                    continue
                text = symptom(item.id, case.message)
                line = line_starting(markdown, f"| {text} |")
                assert "| symptom |" in line and name in line


def test_symptoms_fold_public_and_hidden_wording_together() -> None:
    public = (
        "`scaled_dot_product_attention`: output values differ in 36 of 36 places; the "
        "largest error is 0.418 at index (1, 0, 1) (expected 1.10276, got 1.52034)"
    )
    hidden = (
        "`scaled_dot_product_attention`: output values differ from the expected result "
        "(36 of 36 values)"
    )
    assert symptom("sdpa.values", public) == symptom("sdpa.stability", hidden)
    assert "36" not in symptom("sdpa.values", public)
    missing = "no function named `create_qkv` was found at the top level of your file"
    assert symptom("qkv.values", missing) == f"`create_qkv`: {missing}"
    typing = "`create_qkv` has no annotation for `inputs`; mypy reports 3 errors"
    assert symptom("typing", typing) == "typing: has no annotation for `inputs`"


def test_errored_and_timed_out_submissions_are_listed(graded: GradedBatch) -> None:
    markdown = (graded.out / SUMMARY_MD).read_text()
    section = markdown.split("## Submissions that errored or timed out")[1].split("##")[
        0
    ]
    troubled = {
        r["submission"]: r["status"] for r in graded.gradebook() if r["status"] != "ok"
    }
    assert {"syntax_error", "hangs_in_attention"} <= set(troubled)
    for name, status in troubled.items():
        assert f"| {name} | {status} |" in section
    assert table_value(markdown, "could not be fully graded") == str(len(troubled))


def test_similarity_report_separates_copies_from_independent_work(
    examples: Path,
) -> None:
    with (examples / SIMILARITY_CSV).open() as source:
        rows = list(csv.DictReader(source))
    pairs = {frozenset((r["submission_a"], r["submission_b"])): r for r in rows}
    assert pairs[frozenset(("correct", "loop_heads"))]["flagged"] == "no"
    assert all("skeleton" not in pair for pair in pairs)  # nothing beyond the skeleton
    markdown = (examples / SUMMARY_MD).read_text()
    assert "Not compared (nothing beyond the skeleton): skeleton." in markdown


def test_terminal_digest_repeats_the_summary(
    graded: GradedBatch, examples: Path
) -> None:
    digest = (examples / "digest.txt").read_text()
    markdown = (examples / SUMMARY_MD).read_text()
    mean = table_value(markdown, "mean").split(" / ")[0]
    median = table_value(markdown, "median").split(" / ")[0]
    assert digest.startswith(
        f"Class: {len(EXAMPLE_IDS)} submission(s), mean {mean}, median {median}"
    )
    for item in RUBRIC.items:
        assert re.search(rf"^{re.escape(item.id)} +\d+% +\d+%$", digest, re.MULTILINE)


def test_missing_matplotlib_still_writes_the_page(
    graded: GradedBatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_matplotlib(*_: object) -> None:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(summary_module, "draw_charts", no_matplotlib)
    results = [graded.results[name] for name in EXAMPLE_IDS]
    write_class_reports(results, RUBRIC, [], tmp_path)
    markdown = (tmp_path / SUMMARY_MD).read_text()
    assert "Charts were not drawn: matplotlib is not available" in markdown
    assert SCORES_PNG not in markdown and not (tmp_path / SCORES_PNG).exists()


def _in_new_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_batch_imports_matplotlib_while_its_last_files_are_graded() -> None:
    # The charts are drawn after the last grade; the import they need (about 0.5 s of
    # CPU) starts once the static tools have ended, beside the workers, not after them.
    batch = _in_new_python(
        "import sys, threading\n"
        "from autograder.config import Limits\n"
        "from pathlib import Path\n"
        "from autograder.intake.discover import discover\n"
        "from autograder.pipeline.batch import grade_by_workers\n"
        "before = 'matplotlib' in sys.modules\n"
        f"subs = discover(Path({str(EXAMPLES)!r})).submissions[:2]\n"
        "grade_by_workers(subs, Limits().scaled(2.0), 2, lambda: None)\n"
        "loading = [t for t in threading.enumerate() if t.name == 'matplotlib-import']\n"
        "for thread in loading:\n"
        "    thread.join()\n"
        "print(before, 'matplotlib.figure' in sys.modules)\n"
    )
    assert batch.stdout.split() == ["False", "True"], batch.stderr[-2000:]


def test_a_background_import_without_matplotlib_stays_quiet() -> None:
    loading = _in_new_python(
        "import sys\n"
        "sys.modules['matplotlib'] = None  # not installed\n"
        "from autograder.report.charts import load_in_background\n"
        "load_in_background().join()\n"
        "print('matplotlib.figure' in sys.modules)\n"
    )
    assert loading.stdout.split() == ["False"] and loading.stderr == ""


def test_a_summary_failure_warns_instead_of_raising(
    graded: GradedBatch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(summary_module, "compare", broken)
    digest = write_class_reports(list(graded.results.values()), RUBRIC, [], tmp_path)
    assert digest == ""
    assert "class summary could not be written" in capsys.readouterr().err


def test_an_empty_class_gets_a_summary(tmp_path: Path) -> None:
    write_class_reports([], RUBRIC, [], tmp_path)
    markdown = (tmp_path / SUMMARY_MD).read_text()
    assert table_value(markdown, "submissions") == "0"
    assert table_value(markdown, "mean") == f"n/a / {points(RUBRIC.max_score)}"
    assert "Charts were not drawn" in markdown
    assert not (tmp_path / SCORES_PNG).exists()


def test_a_single_submission_gets_a_summary_without_charts(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "correct.py").write_bytes((EXAMPLES / "correct.py").read_bytes())
    grade_folder(folder, tmp_path / "out", jobs=1, limits=TEST_LIMITS, quiet=True)
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Charts were not drawn: fewer than 2 submissions" in summary
    assert not (tmp_path / "out" / "summary-scores.png").exists()
