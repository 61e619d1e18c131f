"""Build the kit's deliveries: the Gradescope autograder, the student handout and the Otter
export. ``python -m autograder.deliver.package {autograder,handout,otter} [--out ZIP]``, which
``make autograder``, ``make handout`` and ``make otter`` call.

Each builder lists what goes in, from the checkout; nothing else is picked up. The kit's own
zips are reproducible (sorted entries, fixed timestamps): the same sources give the same
bytes. None of them holds the reference solution. Only the Gradescope autograder holds the
hidden fixtures; the Otter export holds their inputs but, instead of their expected values,
the digests described in ``otter/checks.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.cases.casebook import load_cases
from autograder.config import (
    FIXTURES_DIR,
    KIT_ROOT,
    MYPY_CONFIG,
    PACKAGE_DIR,
    RUBRIC_FILE,
)
from autograder.deliver.hints import hints_json
from autograder.diagnose.references import reference
from autograder.judge.case import Case
from autograder.judge.compare import TOLERANCES
from autograder.judge.digests import cell_digest, cell_width, centring_offsets
from autograder.score.rubric import RubricItem, load_rubric
from autograder.score.scoring import CORRECTNESS_ITEMS

DIST_DIR = KIT_ROOT / "dist"
GRADESCOPE_DIR = PACKAGE_DIR / "deliver" / "gradescope"
STUDENT_DIR = KIT_ROOT / "student"
OTTER_DIR = PACKAGE_DIR / "deliver" / "otter"
PYPROJECT = KIT_ROOT / "pyproject.toml"
HANDOUT_FOLDER = "mhsa-assignment"
SELFCHECK_PACKAGE = "selfcheck"
OTTER_PACKAGE = "mhsa_otter"
# The one judge and what it reads (``contract``: the functions, a call's outcomes, source
# text): shipped byte for byte (never copied by hand), as the same tree of packages, beside
# check.py and inside the Otter package.
SHIPPED_PACKAGES = ("contract", "judge")
OTTER_PINS = ("numpy", "mypy", "black")  # what the Otter checks import or run
OTTER_PYTHON = "3.10"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SKIPPED_PARTS = ("__pycache__", ".mypy_cache", ".pytest_cache", ".cache")

Member = tuple[str, bytes, int]  # path inside the zip, content, permission bits


def shipped_judge() -> list[str]:
    """The judge's files as shipped, relative to the engine's folder (``judge/verdict.py``)."""
    return sorted(
        path.relative_to(PACKAGE_DIR).as_posix()
        for package in SHIPPED_PACKAGES
        for path in (PACKAGE_DIR / package).glob("*.py")
    )


def write_zip(out: Path, members: list[Member]) -> Path:
    """Write ``members`` in name order with fixed timestamps (a reproducible zip)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    partial.replace(out)
    return out


def _file(name: str, path: Path) -> Member:
    mode = 0o755 if os.access(path, os.X_OK) else 0o644
    return name, path.read_bytes(), mode


def _shipped(path: Path) -> bool:
    """A source file of the package, not a cache or an editor's leftover."""
    relative = path.relative_to(PACKAGE_DIR).parts
    return (
        path.is_file()
        and not any(part in SKIPPED_PARTS or part.startswith(".") for part in relative)
        and path.suffix not in (".pyc", ".pyo", ".orig", ".rej", ".swp")
        and not path.name.endswith("~")
    )


def autograder_members() -> list[Member]:
    """Gradescope's zip: setup.sh and run_autograder at the root, the engine, its cases,
    fixtures and rubric, and pyproject.toml for the pins; no solution, no venv, no tests.
    """
    members = [
        _file("setup.sh", GRADESCOPE_DIR / "setup.sh"),
        _file("run_autograder", GRADESCOPE_DIR / "run_autograder"),
        _file("pyproject.toml", PYPROJECT),
    ]
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if _shipped(path):
            members.append(_file(f"autograder/{path.relative_to(PACKAGE_DIR)}", path))
    return members


def handout_members() -> list[Member]:
    """The student's zip: skeleton, README, self-check with the grader's judge, public
    fixtures, rubric, and the public cases' references (``autograder.deliver.hints``).
    """
    files = {
        "mhsa.py": STUDENT_DIR / "mhsa.py",
        "README.md": STUDENT_DIR / "README.md",
        "check.py": STUDENT_DIR / "check.py",
        "fixtures/public.json": FIXTURES_DIR / "public.json",
        "rubric.json": RUBRIC_FILE,
    }
    files |= {
        f"{SELFCHECK_PACKAGE}/{name}": PACKAGE_DIR / name for name in shipped_judge()
    }
    members = [_file(f"{HANDOUT_FOLDER}/{name}", path) for name, path in files.items()]
    members.append(
        (f"{HANDOUT_FOLDER}/{SELFCHECK_PACKAGE}/__init__.py", PACKAGE_INIT, 0o644)
    )
    members.append((f"{HANDOUT_FOLDER}/fixtures/hints.json", hints_json(), 0o644))
    return members


PACKAGE_INIT = (
    b'"""The grader\'s judge, shipped as is for the self-check (check.py)."""\n'
)


# --- Otter ------------------------------------------------------------------------------


def pins(names: tuple[str, ...]) -> list[str]:
    """``name==version`` for ``names``, read from pyproject.toml (the one place for pins)."""
    found = dict(
        (name.lower(), version)
        for name, version in re.findall(
            r'"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^"]+)"', PYPROJECT.read_text()
        )
    )
    missing = [name for name in names if name not in found]
    if missing:
        raise SystemExit(f"pyproject.toml pins none of: {', '.join(missing)}")
    return [f"{name}=={found[name]}" for name in names]


def hidden_cells(case: Case) -> list[dict[str, Any]]:
    """Per expected array: its shape and, per accepted dtype, the cell width, centring
    offsets and the cells' digest (``judge.digests.cell_digest``).

    A value passes within half a cell of the expected one: the kit's allowance for that
    dtype at the array's largest value (``judge.digests.cell_width``).
    """
    magnitude = reference(case).magnitude
    cells = []
    for index, want in enumerate(case.expected):
        values: list[float] = want.ravel().tolist()
        by_dtype = {}
        for dtype in TOLERANCES:
            width = cell_width(dtype, want, magnitude)
            offsets = centring_offsets(values, width)
            digest = cell_digest(values, offsets, width, f"{case.id}:{index}")
            by_dtype[dtype] = {"width": width, "offsets": offsets, "digest": digest}
        cells.append({"shape": list(want.shape), "by_dtype": by_dtype})
    return cells


def otter_cases() -> dict[str, Any]:
    """The data the Otter checks read: public cases whole, hidden ones without answers."""
    by_id = {case.id: case for case in load_cases()}
    exported = []
    for visibility in ("public", "hidden"):
        fixture = json.loads((FIXTURES_DIR / f"{visibility}.json").read_text())
        for raw in fixture["cases"]:
            spec = {
                key: raw[key]
                for key in ("id", "item", "function", "description", "args")
            }
            spec["visibility"] = visibility
            expected = raw["expected"]
            if visibility == "public" or "raises" in expected:
                spec["expected"] = expected
            elif raw["item"].endswith(".shapes"):
                spec["expected"] = {"shapes": [a["shape"] for a in expected["arrays"]]}
            else:
                spec["expected"] = {"cells": hidden_cells(by_id[raw["id"]])}
            if visibility == "hidden":
                spec["description"] = ""  # the kit never shows a hidden case's shapes
            exported.append(spec)
    return {
        "format": 2,
        "correctness_items": sorted(CORRECTNESS_ITEMS),
        "mypy_config": MYPY_CONFIG.read_text(),
        "cases": exported,
    }


def otter_test_file(item: RubricItem, case_ids: list[tuple[str, bool]]) -> str:
    """One Otter test file per rubric item: its points, one test case per kit case."""
    static = item.id in ("typing", "formatting")
    checker = f"check_{item.id}" if static else "check_case"
    lines = [
        f'"""Otter test for the rubric item {item.id} (generated by autograder/deliver/package.py)."""',
        "",
        "from otter.test_files import test_case",
        "",
        f"from {OTTER_PACKAGE} import {checker}",
        "",
        "OK_FORMAT = False",
        f"name = {item.id!r}",
        f"points = {item.points!r}",
        "all_or_nothing = False",
    ]
    if static:
        lines += [
            "",
            "",
            f"@test_case(name={item.title!r}, hidden=False)",
            f"def {item.id}(env):",
            f"    check_{item.id}(env)",
        ]
    for index, (case_id, hidden) in enumerate(case_ids, start=1):
        lines += [
            "",
            "",
            f"@test_case(name={case_id!r}, hidden={hidden})",
            f"def case_{index}(env):",
            f"    check_case(env, {case_id!r})",
        ]
    return "\n".join(lines) + "\n"


def otter_sources(folder: Path) -> None:
    """Lay out an Otter assignment in ``folder``: tests/, the checks package (with the
    grader's judge), config, pins."""
    cases = otter_cases()
    tests = folder / "tests"
    tests.mkdir()
    for index, item in enumerate(load_rubric().items, start=1):
        mine = [
            (c["id"], c["visibility"] == "hidden")
            for c in cases["cases"]
            if c["item"] == item.id
        ]
        name = f"{index:02d}_{item.id.replace('.', '_')}.py"
        (tests / name).write_text(otter_test_file(item, mine))
    package = folder / OTTER_PACKAGE
    package.mkdir()
    shutil.copy(OTTER_DIR / "checks.py", package / "__init__.py")
    for name in shipped_judge():
        (package / name).parent.mkdir(exist_ok=True)
        shutil.copy(PACKAGE_DIR / name, package / name)
    (package / "cases.json").write_text(json.dumps(cases, separators=(",", ":")))
    (package / "hints.json").write_bytes(hints_json())
    shutil.copy(OTTER_DIR / "otter_config.json", folder / "otter_config.json")
    (folder / "requirements.txt").write_text("\n".join(pins(OTTER_PINS)) + "\n")


def build_otter(out: Path) -> Path:
    """``otter generate`` on the laid-out assignment (otter-grader must be installed)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mhsa-otter-build-") as folder:
        otter_sources(Path(folder))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        command = [sys.executable, "-m", "otter", "generate"]
        command += [
            "--python-version",
            OTTER_PYTHON,
            "--output-path",
            str(out.resolve()),
        ]
        done = subprocess.run(
            [*command, OTTER_PACKAGE],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(
            "otter generate failed (is otter-grader installed? pip install '.[otter]'):\n"
            + (done.stderr or done.stdout)[-3000:]
        )
    return out


BUILDERS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "autograder": ("autograder.zip", lambda out: write_zip(out, autograder_members())),
    "handout": ("student.zip", lambda out: write_zip(out, handout_members())),
    "otter": ("otter-autograder.zip", build_otter),
}


def main(argv: list[str] | None = None) -> int:
    """Build one delivery and say where it went."""
    parser = argparse.ArgumentParser(prog="python -m autograder.deliver.package")
    parser.add_argument("delivery", choices=sorted(BUILDERS))
    parser.add_argument("--out", type=Path, help="default: dist/<delivery's zip name>")
    args = parser.parse_args(argv)
    default_name, build = BUILDERS[args.delivery]
    out: Path = build(args.out or DIST_DIR / default_name)
    with zipfile.ZipFile(out) as archive:
        count = len(archive.infolist())
    print(f"wrote {out} ({count} files, {out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
