"""``summary-scores.png`` (histogram of scores) and ``summary-items.png`` (item pass rates),
drawn with matplotlib's Agg canvas (imported only here, so grading start-up stays lean).

Importing matplotlib costs about half a second of CPU. A batch starts that import in a
thread (``load_in_background``) once black's worker has ended (at once in a regrade, which
runs neither tool), so the charts drawn after the last student's grade do not wait for it.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from autograder.report.class_stats import ClassSummary
from autograder.report.feedback import points

SCORES_PNG = "summary-scores.png"
ITEMS_PNG = "summary-items.png"
FIGURE_INCHES = (8.0, 4.8)
FIGURE_DPI = 100  # so both PNGs are 800 x 480 pixels


def _import_matplotlib() -> None:
    """Import what ``draw_charts`` uses; a failure is left for ``draw_charts`` to meet."""
    with contextlib.suppress(Exception):
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
        from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: F401


def load_in_background() -> threading.Thread:
    """Start importing matplotlib in a daemon thread (``draw_charts`` then finds it
    loaded, or waits on Python's import lock for the rest of the import)."""
    loading = threading.Thread(
        target=_import_matplotlib, name="matplotlib-import", daemon=True
    )
    loading.start()
    return loading


def draw_charts(summary: ClassSummary, out: Path) -> None:
    """``summary-scores.png`` and ``summary-items.png``, 800 x 480 pixels each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure = Figure(figsize=FIGURE_INCHES, dpi=FIGURE_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = summary.bins[0][1] - summary.bins[0][0]
    axes.bar(
        [low for low, _, _ in summary.bins],
        [count for _, _, count in summary.bins],
        width=width,
        align="edge",
        color="#4c72b0",
        edgecolor="white",
    )
    if summary.mean is not None and summary.median is not None:
        axes.axvline(
            summary.mean,
            color="#c44e52",
            linestyle="--",
            label=f"mean {points(summary.mean)}",
        )
        axes.axvline(
            summary.median,
            color="#222222",
            linestyle=":",
            label=f"median {points(summary.median)}",
        )
        axes.legend(loc="upper left")
    axes.set_xlim(0, summary.bins[-1][1])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(f"score (out of {points(summary.max_score)})")
    axes.set_ylabel("submissions")
    axes.set_title(f"Scores of {summary.count} submission(s)")
    figure.tight_layout()
    figure.savefig(out / SCORES_PNG, format="png", metadata={"Software": None})

    figure = Figure(figsize=FIGURE_INCHES, dpi=FIGURE_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    rows = list(reversed(summary.items))  # first rubric item on top
    where = list(range(len(rows)))
    axes.barh(
        [y + 0.2 for y in where],
        [r.full_share for r in rows],
        height=0.4,
        color="#4c72b0",
        label="full points",
    )
    axes.barh(
        [y - 0.2 for y in where],
        [r.mean_share for r in rows],
        height=0.4,
        color="#dd8452",
        label="mean points",
    )
    axes.set_yticks(where, [r.id for r in rows])
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("share of submissions / of points")
    axes.set_title("Rubric items: pass rates")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    figure.savefig(out / ITEMS_PNG, format="png", metadata={"Software": None})
