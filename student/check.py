#!/usr/bin/env python3
"""Self-check for the Multi-Head Self-Attention assignment: run the public cases on mhsa.py.

    python check.py                    # checks ./mhsa.py
    python check.py path/to/mhsa.py
    python check.py --json mhsa.py     # machine-readable results on stdout

Needs only NumPy; runs mypy and black too when they are installed. The cases are judged by
the grader's own judge (``selfcheck/judge.py``, the very module the grader runs), so each
public case gets the verdict and the likely cause the grader would give. Your code runs
inside this process (the grader runs it confined, see README.md) and, as in the grader,
may import only numpy and the standard library. The points printed at the end are an
estimate from the public cases only: the grader's hidden cases, with other shapes and data,
decide the real grade. Exit status 0 when every public check passes.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

HERE = Path(__file__).resolve().parent
if TYPE_CHECKING:
    from autograder.contract import signatures, silencers, source_text
    from autograder.judge import api as judge
elif (HERE / "selfcheck").is_dir():  # the handout: the grader's judge, beside this file
    sys.path.insert(0, str(HERE))
    from selfcheck.contract import signatures, silencers, source_text
    from selfcheck.judge import api as judge
else:  # the kit's checkout: the grader's package itself
    sys.path.insert(0, str(HERE.parent))
    from autograder.contract import signatures, silencers, source_text
    from autograder.judge import api as judge

CALL_SECONDS = 10  # the grader's limit per call
# What each kind of check promises, for the check's title.
PROMISES = {
    "values": "values match",
    "shapes": "returns the right shape",
    "stability": "stays finite and right for large scores",
    "bad_heads": "raises ValueError for a bad head count",
}
# The grader's mypy settings for submissions (close to mypy's defaults).
MYPY_CONFIG = """[mypy]
python_version = 3.10
ignore_missing_imports = True
follow_imports = skip

[mypy-numpy,numpy.*]
follow_imports = silent
"""


@dataclass
class Typing:
    """What the typing item looks at: annotations, and mypy when installed."""

    missing: list[str]
    mypy_errors: list[str] | None  # None: mypy is not installed or could not run

    @property
    def passed(self) -> bool:
        """Annotations complete and mypy, when it ran, silent."""
        return not self.missing and not self.mypy_errors


@dataclass
class Loaded:
    """The submission imported here, or why it could not be (as the grader says it)."""

    module: types.ModuleType | None
    failure: judge.Failed | None
    printed: str
    text: str


def find_data(name: str, in_kit: str = "") -> Path:
    """The handout's copy next to this file, else the kit's copy (check.py in the repo),
    at ``in_kit`` inside ``autograder/`` when it lives elsewhere there."""
    local = HERE / name
    if local.exists():
        return local
    kit = HERE.parent / "autograder" / (in_kit or name)
    return kit if kit.exists() else local


def load(path: Path) -> Loaded:
    """Decode the file as Python's import does, then import it as the grader's child
    does (as module ``mhsa``: the ``__main__`` block does not run), capturing prints."""
    data = path.read_bytes()
    if not data.strip():
        return Loaded(None, judge.Failed("empty", "the file is empty"), "", "")
    try:
        text = source_text.decode_source(data)
    except source_text.SourceDecodeError as exc:
        return Loaded(None, judge.Failed("encoding", str(exc)), "", "")
    try:
        code = compile(text, str(path), "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        message = f"syntax error at {where}: {exc.msg}"
        return Loaded(None, judge.Failed("syntax", message), "", text)
    module = types.ModuleType("mhsa")
    module.__file__ = str(path)
    sys.modules["mhsa"] = module
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            with judge.time_limit(CALL_SECONDS), judge.only_numpy_and_stdlib():
                exec(code, module.__dict__)
    except judge.CallTimeout:
        failure = judge.Failed(
            "timeout",
            f"importing your file did not finish within {CALL_SECONDS} s (is there an "
            "endless loop or a long computation at module level?)",
        )
        return Loaded(None, failure, printed.getvalue(), text)
    except BaseException as exc:  # noqa: B036 - any failure is the student's to see
        raised = judge.exception_facts(exc, str(path))
        return Loaded(None, judge.import_failure(raised), printed.getvalue(), text)
    return Loaded(module, None, printed.getvalue(), text)


def read_hints(path: Path) -> dict[str, Any]:
    """The public cases' references: the handout's file; in the kit's checkout, made by
    the kit itself (``make handout`` writes that file from the same code)."""
    if path.is_file():
        cases: dict[str, Any] = json.loads(path.read_text())["cases"]
        return cases
    if judge.__name__.startswith("autograder."):
        from autograder.deliver.hints import public_hints

        made: dict[str, Any] = json.loads(json.dumps(public_hints()))["cases"]
        return made
    return {}


def find_functions(module: types.ModuleType | None) -> dict[str, str]:
    """Graded function -> the name the submission defines it under."""
    found: dict[str, str] = {}
    for function, names in judge.FUNCTION_ALIASES.items():
        for name in names:
            if module is not None and callable(getattr(module, name, None)):
                found[function] = name
                break
    return found


def title(case: judge.Case, name: str) -> str:
    """The check's one-line name, e.g. ``create_qkv values match (B=2, L=5, D=8)``."""
    promise = PROMISES.get(case.check, case.check)
    if case.check == "shapes" and len(case.expected) > 1:
        promise += "s"
    return f"{name} {promise} ({case.description})"


def check_cases(
    loaded: Loaded, path: Path, cases: list[judge.Case], hints: dict[str, Any]
) -> list[judge.Checked]:
    """Every public case judged as the grader judges it (one message for all when the
    file could not be imported)."""
    if loaded.failure is not None or loaded.module is None:
        failure = loaded.failure or judge.Failed(
            "import_error", "the file was not imported"
        )
        return [
            judge.Checked(c, judge.Verdict(False, failure.message), "") for c in cases
        ]
    found = find_functions(loaded.module)
    module = loaded.module

    def find(function: str) -> Any:
        return getattr(module, found[function]) if function in found else None

    references: dict[str, judge.Reference] = {
        case_id: judge.reference_from_json(raw) for case_id, raw in hints.items()
    }
    return judge.check_all(
        cases, find, str(path), references, loaded.text.splitlines(), CALL_SECONDS
    )


def missing_annotations(text: str) -> list[str]:
    """What the graded functions leave unannotated (parameters and returns), by the
    grader's own rule (``contract.signatures``)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ["the file does not parse"]
    chosen = signatures.graded_definitions(tree)
    missing = [f"`{f}` is not defined" for f in judge.FUNCTIONS if f not in chosen]
    for node in chosen.values():
        missing += [f"`{node.name}`: {gap}" for gap in signatures.unannotated(node)]
    return missing


def run_mypy(text: str) -> tuple[list[str] | None, str]:
    """mypy's errors with the grader's settings, or None and why when it cannot run."""
    if importlib.util.find_spec("mypy") is None:
        return None, "mypy is not installed (pip install mypy); the grader runs it"
    with tempfile.TemporaryDirectory(prefix="mhsa-check-") as folder:
        (Path(folder) / "mypy.ini").write_text(MYPY_CONFIG)
        (Path(folder) / "mhsa.py").write_text(
            silencers.strip_silencers(text), encoding="utf-8"
        )
        command = [sys.executable, "-m", "mypy", "--config-file", "mypy.ini"]
        command += ["--cache-dir", ".cache", "--no-error-summary", "--no-color-output"]
        try:
            done = subprocess.run(
                [*command, "mhsa.py"],
                cwd=folder,
                capture_output=True,
                check=False,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            return None, "mypy did not finish within 300 s"
    if done.returncode not in (0, 1):
        return None, f"mypy could not run: {(done.stderr or done.stdout).strip()[:200]}"
    return [line for line in done.stdout.splitlines() if ": error:" in line], ""


def black_advice(text: str, name: str) -> tuple[bool | None, str]:
    """Whether black would leave the file unchanged (None when black is not installed)."""
    try:
        from black import format_str
        from black.mode import Mode, TargetVersion
    except ImportError:
        return None, "black is not installed (pip install black): not checked"
    try:
        clean = (
            format_str(text, mode=Mode(target_versions={TargetVersion.PY310})) == text
        )
    except Exception as exc:  # black's parser may reject unusual code
        return None, f"black could not format the file ({type(exc).__name__})"
    if clean:
        return True, "black would leave the file unchanged"
    return False, f"black would reformat the file (advice only): run `black {name}`"


def estimate(
    rubric: list[dict[str, Any]],
    checked: list[judge.Checked],
    typing_: Typing,
    formatted: bool | None,
) -> list[tuple[str, float, float, str]]:
    """(item, estimated points, points, why) per rubric item, the way the grader scores."""
    by_item: dict[str, list[judge.Checked]] = {}
    for one in checked:
        by_item.setdefault(one.case.item, []).append(one)
    mha_returns = any(
        c.verdict.returned
        for c in checked
        if c.case.item in ("mha.values", "mha.shapes")
    )
    rows: list[tuple[str, float, float, str]] = []
    for item in rubric:
        item_id, points = str(item["id"]), float(item["points"])
        if item_id in by_item:
            cases = by_item[item_id]
            passed = sum(c.verdict.passed for c in cases)
            why = f"{passed} of {len(cases)} public cases"
            if item_id == "mha.bad_heads" and not mha_returns:
                passed, why = 0, why + "; not counted: no valid call returned an array"
            rows.append((item_id, points * passed / len(cases), points, why))
        elif item_id != "typing" and item_id != "formatting":
            rows.append((item_id, 0.0, points, "not estimated here"))
    correctness = sum(row[1] for row in rows)
    for item in rubric:
        item_id, points = str(item["id"]), float(item["points"])
        if item_id == "typing":
            earned = points if typing_.passed and correctness > 0 else 0.0
            why = (
                "annotations complete" if not typing_.missing else "annotations missing"
            )
            if typing_.mypy_errors is None:
                why += "; mypy not run, so only an upper bound"
            else:
                why += "; mypy clean" if not typing_.mypy_errors else "; mypy errors"
            if typing_.passed and correctness == 0:
                why += "; needs some correctness points first"
            rows.append((item_id, earned, points, why))
        elif item_id == "formatting":
            earned = points if formatted else 0.0
            rows.append((item_id, earned, points, "black advice"))
    return rows


def explanation(verdict: judge.Verdict, printed: str) -> str:
    """The lines under a check: what went wrong, the likely cause, what the code printed."""
    lines = []
    if not verdict.passed:
        problem = verdict.problem + (f": {verdict.detail}" if verdict.detail else "")
        lines.append(problem)
        if verdict.diagnosis:
            where = f" ({verdict.step})" if verdict.step else ""
            lines.append(f"likely cause: {verdict.diagnosis}{where}")
    if printed.strip():
        lines.append("your code printed:")
        lines += [f"  | {row}" for row in printed.rstrip().splitlines()[:20]]
    return "\n".join(lines)


def show(mark: str, line: str, detail: str = "") -> None:
    """Print one check50-style line with its explanation indented below it."""
    print(f"{mark} {line}")
    for row in detail.splitlines():
        print(f"    {row}")


def as_json(
    path: Path,
    loaded: Loaded,
    checked: list[judge.Checked],
    found: dict[str, str],
    typing_: Typing,
    black: tuple[bool | None, str],
    rows: list[tuple[str, float, float, str]],
) -> dict[str, Any]:
    """The whole report as data (``--json``), in the manner of check50's JSON output."""
    return {
        "submission": str(path),
        "imported": loaded.failure is None,
        "import_problem": loaded.failure.message if loaded.failure else None,
        "printed_at_import": loaded.printed,
        "functions": found,
        "checks": [
            {
                "name": c.case.id,
                "item": c.case.item,
                "description": title(
                    c.case, found.get(c.case.function, c.case.function)
                ),
                "passed": c.verdict.passed,
                "problem": c.verdict.problem or None,
                "detail": c.verdict.detail or None,
                "likely_cause": c.verdict.diagnosis,
                "where": c.verdict.step,
                "printed": c.printed,
            }
            for c in checked
        ],
        "typing": {"missing": typing_.missing, "mypy_errors": typing_.mypy_errors},
        "formatting": {"black_clean": black[0], "note": black[1]},
        "estimate": [
            {"item": item, "earned": round(earned, 2), "points": points, "why": why}
            for item, earned, points, why in rows
        ],
        "total": round(sum(r[1] for r in rows), 2),
        "max_total": sum(r[2] for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every public case and the static checks; print results and an estimate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission", nargs="?", type=Path, help="default: ./mhsa.py")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--fixtures", type=Path, default=find_data("fixtures/public.json")
    )
    parser.add_argument(
        "--rubric", type=Path, default=find_data("rubric.json", "score/rubric.json")
    )
    parser.add_argument(
        "--hints",
        type=Path,
        default=find_data("fixtures/hints.json"),
        help="the public cases' references: known mistakes, right intermediate steps",
    )
    options = parser.parse_args(argv)
    path: Path = options.submission or Path("mhsa.py")
    if options.submission is None and not path.exists():
        path = HERE / "mhsa.py"
    for needed in (path, options.fixtures, options.rubric):
        if not needed.is_file():
            print(f"check.py: cannot find {needed}", file=sys.stderr)
            return 2
    path = path.resolve()
    cases = [
        judge.case_from_json(raw, "public")
        for raw in json.loads(options.fixtures.read_text())["cases"]
    ]
    rubric: list[dict[str, Any]] = json.loads(options.rubric.read_text())["items"]
    hints = read_hints(options.hints)
    loaded = load(path)
    checked = check_cases(loaded, path, cases, hints)
    found = find_functions(loaded.module)
    missing = missing_annotations(loaded.text)
    mypy_errors, mypy_note = run_mypy(loaded.text)
    typing_ = Typing(missing, mypy_errors)
    black = black_advice(loaded.text, path.name)
    rows = estimate(rubric, checked, typing_, black[0])
    all_passed = (
        loaded.failure is None
        and all(c.verdict.passed for c in checked)
        and not missing
        and not mypy_errors
    )
    if options.json:
        report = as_json(path, loaded, checked, found, typing_, black, rows)
        print(json.dumps(report, indent=2))
        return 0 if all_passed else 1

    print(f"Checking {path} on {len(cases)} public cases\n")
    if loaded.failure is not None:
        show(
            ":(",
            f"{path.name} imports",
            explanation(judge.Verdict(False, loaded.failure.message), loaded.printed),
        )
    else:
        missing_functions = [
            " or ".join(names)
            for function, names in judge.FUNCTION_ALIASES.items()
            if function not in found
        ]
        if missing_functions:
            show(
                ":(",
                f"{path.name} defines the graded functions",
                "missing: " + ", ".join(missing_functions),
            )
            all_passed = False
        else:
            show(
                ":)",
                f"{path.name} defines {', '.join(found.values())}",
                explanation(judge.Verdict(True), loaded.printed),
            )
        if found.get("multi_head_attention") == "multi_head_self_attention":
            print(
                "    (found multi_head_self_attention; multi_head_attention is preferred)"
            )
    for one in checked:
        name = found.get(one.case.function, one.case.function)
        mark = ":)" if one.verdict.passed else ":("
        show(mark, title(one.case, name), explanation(one.verdict, one.printed))

    show(
        ":)" if not missing else ":(",
        "the three functions annotate every parameter and their return",
        "\n".join("missing: " + m for m in missing),
    )
    if mypy_errors is None:
        show(":|", "mypy not run", mypy_note)
    else:
        show(
            ":)" if not mypy_errors else ":(",
            "mypy reports no error",
            "\n".join(mypy_errors),
        )
    show({True: ":)", False: ":|", None: ":|"}[black[0]], black[1])

    print("\nEstimated points from the public cases:")
    for item_id, earned, points, why in rows:
        print(f"  {item_id:<15} {earned:5.2f} / {points:5.2f}   {why}")
    total = sum(r[1] for r in rows)
    print(f"  {'total':<15} {total:5.2f} / {sum(r[2] for r in rows):5.2f}")
    print(
        "\nThis is only an estimate from the public cases. The grader also runs hidden cases"
        "\nwith other shapes and data, and those decide your real grade."
    )
    return 0 if all_passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
