"""The kit's graded checks for Otter-Grader: shipped as the package ``mhsa_otter``.

Otter runs a submission inside a Jupyter kernel and then executes its test files in that
same kernel, so this module runs beside student code with no confinement at all. Cases are
judged by the ``judge`` package beside it, the grader's very judge (``make otter`` copies its
bytes, and ``contract``'s, whose typing rule the static items apply), so a public case gets
the grader's verdict, words and likely cause; ``hints.json`` holds the public cases'
references. What the in-process path exposes is limited:

- Hidden cases carry no expected values: ``cases.json`` holds, per hidden array and per
  accepted dtype, a cell width ``2 * half_width``, one offset per value and a SHA-256 digest
  of the cell indices the expected values fall in. Each offset puts its expected value at
  the centre of its cell, so a result passes exactly when every value lies within
  ``half_width`` of the expected one; the offsets reveal only the digits below the cell
  width. Hidden cases get no diagnosis (it would need their answers).
- Values are compared with array operators and methods, never through numpy's comparison
  functions, so replacing ``np.allclose`` or ``np.isclose`` changes nothing.
- Every call gets fresh copies of its inputs and a wall-clock alarm; a function that hangs
  once is not called again.

What a student's code can still do here (read the shipped files, replace Otter's own
functions, run for as long as the kernel lives) is listed in ``docs/otter.md``.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the kit's modules, which the export ships beside this one
    from autograder.contract import signatures, silencers
    from autograder.judge import api as judge
else:
    from .contract import signatures, silencers
    from .judge import api as judge

DATA = Path(__file__).with_name("cases.json")
HINTS = Path(__file__).with_name("hints.json")
CALL_SECONDS = 10
MYPY_LINE = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): (?P<kind>error|note): ")

_data: dict[str, Any] = {}
_verdicts: dict[str, judge.Verdict] = {}


def data() -> dict[str, Any]:
    """The exported cases, tolerances and mypy settings (read once)."""
    if not _data:
        _data.update(json.loads(DATA.read_text(encoding="utf-8")))
    return _data


def exported_case(raw: dict[str, Any]) -> judge.Case:
    """A case of ``cases.json``; a hidden one's expected arrays are zeros of the right
    shape (its values are judged by its cells)."""
    if "arrays" in raw["expected"] or "raises" in raw["expected"]:
        return judge.case_from_json(raw, raw["visibility"])
    shapes = [c["shape"] for c in raw["expected"].get("cells", [])]
    shapes = shapes or raw["expected"].get("shapes", [])
    placeholder = dict(
        raw,
        expected={
            "arrays": [
                {"dtype": "float64", "shape": s, "data": [0.0] * int(np.prod(s))}
                for s in shapes
            ]
        },
    )
    return judge.case_from_json(placeholder, raw["visibility"])


def cells_matcher(raw: dict[str, Any]) -> judge.Matcher:
    """A hidden case's values judged by their cells' digest, for the result's dtype."""

    def matches(index: int, values: judge.FloatArray, dtype: str) -> bool:
        cells = raw["expected"]["cells"][index]["by_dtype"].get(dtype)
        if cells is None:
            return False
        numbers: list[float] = values.ravel().tolist()
        salt = f"{raw['id']}:{index}"
        found = judge.cell_digest(numbers, cells["offsets"], cells["width"], salt)
        return bool(found == cells["digest"])

    return matches


def resolve(env: dict[str, Any], function: str) -> Callable[..., object] | None:
    """The submission's function for ``function``, under either accepted name."""
    for alias in judge.FUNCTION_ALIASES[function]:
        found = env.get(alias)
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


def student_file(env: dict[str, Any]) -> str:
    """The file name the kernel gave the submission's code (its functions carry it)."""
    for function in judge.FUNCTIONS:
        code = getattr(resolve(env, function), "__code__", None)
        if code is not None:
            return str(code.co_filename)
    return "<submission>"


def verdicts(env: dict[str, Any]) -> dict[str, judge.Verdict]:
    """Every case's verdict, computed once per grading run (the look across cases needs
    them all)."""
    if not _verdicts:
        raws = data()["cases"]
        hints = json.loads(HINTS.read_text(encoding="utf-8"))["cases"]
        references: dict[str, judge.Reference] = {
            case_id: judge.reference_from_json(raw) for case_id, raw in hints.items()
        }
        matchers = {r["id"]: cells_matcher(r) for r in raws if "cells" in r["expected"]}
        try:
            lines = submission_text().splitlines()
        except AssertionError:
            lines = []
        checked = judge.check_all(
            [exported_case(raw) for raw in raws],
            lambda function: resolve(env, function),
            student_file(env),
            references,
            lines,
            CALL_SECONDS,
            matchers,
        )
        _verdicts.update({c.case.id: c.verdict for c in checked})
    return _verdicts


def mha_returns(env: dict[str, Any]) -> bool:
    """Whether multi_head_attention gave back arrays for some valid input (the gate)."""
    found = verdicts(env)
    return any(
        found[c["id"]].returned
        for c in data()["cases"]
        if c["item"] in ("mha.values", "mha.shapes")
    )


def counted(env: dict[str, Any], case_id: str) -> judge.Verdict:
    """A case's verdict after the bad-heads gate of the kit's rubric."""
    result = verdicts(env)[case_id]
    item = next(c["item"] for c in data()["cases"] if c["id"] == case_id)
    if item == "mha.bad_heads" and result.passed and not mha_returns(env):
        return judge.Verdict(
            False,
            "not counted: multi_head_attention never returned a result for valid inputs, "
            "and a function that always raises earns nothing here",
        )
    return result


def check_case(env: dict[str, Any], case_id: str) -> None:
    """An Otter test case body: fail with the kit's message unless the case passes."""
    result = counted(env, case_id)
    if not result.passed:
        raise AssertionError(result.message)


# --- the static items -------------------------------------------------------------------


def submission_text() -> str:
    """The submitted script: Otter's working folder holds it and nothing else ending .py."""
    scripts = sorted(p for p in Path.cwd().glob("*.py") if p.name != "__init__.py")
    if len(scripts) != 1:
        raise AssertionError(f"expected one submitted .py file, found {len(scripts)}")
    return scripts[0].read_text(encoding="utf-8", errors="replace")


def unannotated(tree: ast.Module) -> list[str]:
    """What the graded functions leave unannotated, or which ones are not defined, by the
    grader's own rule (``contract.signatures``)."""
    chosen = signatures.graded_definitions(tree)
    problems: list[str] = []
    for function in judge.FUNCTIONS:
        node = chosen.get(function)
        if node is None:
            problems.append(f"`{function}` is not defined with `def` at the top level")
        elif missing := signatures.unannotated(node):
            problems.append(f"`{node.name}` lacks annotations on {', '.join(missing)}")
    return problems


def mypy_errors(text: str) -> list[str] | None:
    """mypy's errors with the kit's settings for submissions; None when mypy cannot run."""
    with tempfile.TemporaryDirectory(prefix="mhsa-otter-mypy-") as folder:
        (Path(folder) / "mypy.ini").write_text(data()["mypy_config"])
        (Path(folder) / "submission_0.py").write_text(
            silencers.strip_silencers(text), encoding="utf-8"
        )
        command = [sys.executable, "-m", "mypy", "--config-file", "mypy.ini"]
        command += ["--cache-dir", ".cache", "--no-error-summary", "--no-pretty"]
        command += ["--show-error-codes", "--no-color-output", "submission_0.py"]
        try:
            done = subprocess.run(
                command,
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    if done.returncode not in (0, 1):
        return None
    errors = []
    for line in done.stdout.splitlines():
        match = MYPY_LINE.match(line)
        if match and match["kind"] == "error":
            errors.append(f"line {match['line']}: {line[match.end():]}")
    return errors


def earned_correctness(env: dict[str, Any]) -> bool:
    """Whether any correctness case counts (the typing gate)."""
    return any(
        counted(env, c["id"]).passed
        for c in data()["cases"]
        if c["item"] in data()["correctness_items"]
    )


def check_typing(env: dict[str, Any]) -> None:
    """The typing item: annotations and mypy, counted only with some correctness points."""
    text = submission_text()
    try:
        problems = unannotated(ast.parse(text))
    except (SyntaxError, ValueError) as exc:
        raise AssertionError(f"not checked: the file does not parse ({exc})") from None
    errors = mypy_errors(text)
    if errors is None:
        problems.append("mypy could not check the file")
    elif errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        problems.append("mypy reports: " + "; ".join(errors[:5]) + more)
    if problems:
        raise AssertionError("; ".join(problems))
    if not earned_correctness(env):
        raise AssertionError(
            "not counted: the typing point needs some correctness points first"
        )


def check_formatting(env: dict[str, Any]) -> None:
    """The formatting item: black (Python 3.10 target) would leave the file unchanged."""
    text = submission_text()
    try:
        import black
        from black.mode import Mode, TargetVersion

        formatted = black.format_str(
            text, mode=Mode(target_versions={TargetVersion.PY310})
        )
    except Exception as exc:  # black missing, or its parser rejects the file
        raise AssertionError(f"not checked ({type(exc).__name__})") from None
    if formatted != text:
        raise AssertionError("black would reformat the file; run `black` on it")
