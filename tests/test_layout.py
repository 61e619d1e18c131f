"""The engine's layout holds: no import cycle between modules or between packages, no stage
imports a later one (``autograder.layout.STAGES``), the shipped judge needs only numpy and
the standard library, and the pages describing the layout match the tree.

The graph is read from the source with ``ast``, every import counted (inside functions and
``if TYPE_CHECKING:`` too). The checks on small made-up trees show each rule can fail.
"""

from __future__ import annotations

import importlib
import re
import sys
from functools import partial
from pathlib import Path

import pytest

from autograder.config import KIT_ROOT
from autograder.deliver.package import SHIPPED_PACKAGES
from autograder.layout import (
    ENGINE,
    ENGINE_DIR,
    STAGES,
    Import,
    architecture_block,
    collapse,
    engine_modules,
    find_cycle,
    imports_of,
    module_graph,
    stage_of,
    unit_of,
    upward_imports,
)

GRAPH = module_graph()
MODULES = engine_modules()
ARCHITECTURE = KIT_ROOT / "docs" / "architecture.md"
README = KIT_ROOT / "README.md"


def make_tree(root: Path, files: dict[str, str]) -> Path:
    """A made-up engine under ``root``: ``{"a/x.py": source}``, packages made for each
    folder; returns the engine's folder."""
    engine = root / ENGINE
    for name, source in {"__init__.py": "", **files}.items():
        path = engine / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(engine).parents:
            (engine / folder / "__init__.py").touch()
        path.write_text(source)
    return engine


# --- the engine ---------------------------------------------------------------------------


def test_no_import_cycle_between_modules() -> None:
    assert find_cycle(GRAPH) is None


def test_no_import_cycle_between_packages() -> None:
    assert find_cycle(collapse(GRAPH, unit_of)) is None


def test_no_stage_imports_a_later_one() -> None:
    assert upward_imports(GRAPH) == []


def test_every_module_belongs_to_a_stage() -> None:
    """A new package or top-level module must take its place in ``STAGES``; only the
    engine's own ``__init__`` and the layout stand outside (and import nothing of it).
    """
    outside = {m for m in GRAPH if stage_of(m) not in STAGES}
    assert outside == {ENGINE, f"{ENGINE}.layout"}
    assert all(not GRAPH[m] for m in outside)
    assert set(STAGES) == {
        path.stem if path.is_file() else path.name
        for path in ENGINE_DIR.iterdir()
        if (path / "__init__.py").is_file() or path.suffix == ".py"
    } - {"__init__", "layout"}


def imported_by(module: str) -> tuple[list[Import], set[str]]:
    """What ``module`` imports of the engine, and the top-level names of the rest."""
    found = imports_of(MODULES[module], module, MODULES)
    inside = [f for f in found if f.module.split(".")[0] == ENGINE]
    return inside, {f.module.split(".")[0] for f in found} - {ENGINE}


def standard_or(*allowed: str) -> set[str]:
    """The standard library's top-level names and ``allowed``."""
    return set(sys.stdlib_module_names) | set(allowed)


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if stage_of(m) in SHIPPED_PACKAGES)
)
def test_the_shipped_judge_needs_only_numpy_the_standard_library_and_itself(
    module: str,
) -> None:
    """The handout and the Otter export ship ``judge`` and ``contract`` under another
    package name, so they reach each other only by relative imports."""
    inside, outside = imported_by(module)
    assert all(f.relative and stage_of(f.module) in SHIPPED_PACKAGES for f in inside)
    assert outside <= standard_or("numpy")


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        (f"{ENGINE}.confine.child", {"numpy"}),  # beside student code
        (f"{ENGINE}.confine.sweeper", set()),  # as the sandbox uid
        (f"{ENGINE}.static.black_worker", {"black"}),  # black, under limits
    ],
)
def test_code_run_outside_the_grader_imports_nothing_of_it(
    module: str, allowed: set[str]
) -> None:
    inside, outside = imported_by(module)
    assert inside == [] and outside <= standard_or(*allowed)


# --- the rules can fail ---------------------------------------------------------------------


def test_the_cycle_finder_finds_a_cycle() -> None:
    cycle = find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert cycle is not None
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_an_import_of_a_later_stage_is_found() -> None:
    judge, report = f"{ENGINE}.judge.verdict", f"{ENGINE}.report.feedback"
    assert upward_imports({judge: {report}}) == [(judge, report)]
    assert upward_imports({report: {judge}}) == []
    assert upward_imports({report: {f"{ENGINE}.layout"}}) == [
        (report, f"{ENGINE}.layout")
    ]


def test_imports_inside_functions_and_relative_ones_are_read(tmp_path: Path) -> None:
    engine = make_tree(
        tmp_path,
        {
            "judge/x.py": "def late() -> None:\n    from ..report import y\n",
            "report/y.py": "import typing\nif typing.TYPE_CHECKING:\n"
            "    from autograder.judge.x import late\n",
            "report/z.py": "from . import y\n",
        },
    )
    graph = module_graph(engine)
    assert graph[f"{ENGINE}.judge.x"] == {f"{ENGINE}.report.y"}
    assert graph[f"{ENGINE}.report.z"] == {f"{ENGINE}.report.y"}
    assert find_cycle(graph) is not None
    packages = collapse(graph, partial(unit_of, root=engine))
    assert packages[f"{ENGINE}.judge"] == {f"{ENGINE}.report"}
    assert find_cycle(packages) is not None
    assert upward_imports(graph) == [(f"{ENGINE}.judge.x", f"{ENGINE}.report.y")]


# --- the pages ------------------------------------------------------------------------------


def test_the_architecture_page_shows_the_layout_drawn_from_the_code() -> None:
    assert (
        architecture_block() in ARCHITECTURE.read_text()
    ), "docs/architecture.md is out of date: paste `python -m autograder.layout` into it"


def test_the_readme_layout_names_every_folder_of_the_engine_in_stage_order() -> None:
    text = README.read_text()
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    named = re.findall(rf"^\| `{ENGINE}/(\w+)(?:/|\.py)` \|", section, re.MULTILINE)
    folders = {
        p.name for p in ENGINE_DIR.iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    assert set(named) - {"config", "__main__"} == folders
    assert [n for n in named if n in STAGES] == list(
        STAGES
    )  # the stages in their order


PATH_NAMED = re.compile(r"(?<![\w/.-])(autograder/[\w/.-]*[\w/])")
MODULE_NAMED = re.compile(r"(?<![\w/.-])(autograder(?:\.(?!zip\b)\w+)+)")
PROSE = [README, *sorted((KIT_ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize(
    "path",
    [*PROSE, *sorted(ENGINE_DIR.rglob("*.py"))],
    ids=lambda p: str(p.relative_to(KIT_ROOT)),
)
def test_every_engine_path_and_module_named_exists(path: Path) -> None:
    """A page or a docstring naming ``autograder/x.py`` or ``autograder.x.name`` names
    something that is there (a moved module leaves no stale pointer behind)."""
    text = path.read_text()
    missing = [
        named
        for named in PATH_NAMED.findall(text)
        if not (KIT_ROOT / named.split("::")[0]).exists()
    ]
    for named in MODULE_NAMED.findall(text):
        parts = named.split(".")
        found = next(
            (n for n in range(len(parts), 1, -1) if ".".join(parts[:n]) in MODULES), 0
        )
        target: object = (
            importlib.import_module(".".join(parts[:found])) if found else None
        )
        for attribute in parts[found:] if found else ():
            target = getattr(target, attribute, None)
        if target is None:
            missing.append(named)
    assert missing == []
