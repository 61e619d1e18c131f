#!/usr/bin/env python3
"""Self-check for the Multi-Head Self-Attention assignment: run the public cases on mhsa.py.

    python check.py                    # checks ./mhsa.py
    python check.py path/to/mhsa.py

Needs only NumPy; runs mypy and black too when they are installed. Your code runs inside
this process (the grader runs it confined, see README.md), and the points printed at the
end are an estimate from the public cases only: the grader's hidden cases, with other
shapes and data, decide the real grade. Exit status 0 when every public check passes.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import json
import signal
import subprocess
import sys
import tempfile
import threading
import tokenize
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
CALL_SECONDS = 10  # the grader's limit per call
# Float tolerances (rtol, atol) per result dtype, as the grader compares.
TOLERANCES = {"float64": (1e-5, 1e-8), "float32": (1e-4, 1e-6)}
# Parameter names of the graded functions, to say which argument was modified.
PARAMETERS = {
    "create_qkv": ("inputs", "weights_q", "weights_k", "weights_v"),
    "scaled_dot_product_attention": ("Q", "K", "V", "scale"),
    "multi_head_attention": (
        "inputs",
        "weights_q",
        "weights_k",
        "weights_v",
        "num_heads",
    ),
}
# The third function has two accepted names; the first is preferred.
ALIASES = {
    "create_qkv": ("create_qkv",),
    "scaled_dot_product_attention": ("scaled_dot_product_attention",),
    "multi_head_attention": ("multi_head_attention", "multi_head_self_attention"),
}
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


class CallTimeout(BaseException):
    """Raised by the alarm when a call runs too long (not an Exception: code can't eat it)."""


@dataclass
class Outcome:
    """The verdict on one public case."""

    case: dict[str, Any]
    title: str
    passed: bool
    detail: str = ""
    returned: bool = False  # the call gave back arrays (gates mha.bad_heads)


@dataclass
class Typing:
    """What the typing item looks at: annotations, and mypy when installed."""

    missing: list[str]
    mypy_errors: list[str] | None  # None: mypy is not installed or could not run

    @property
    def passed(self) -> bool:
        """Annotations complete and mypy, when it ran, silent."""
        return not self.missing and not self.mypy_errors


def find_data(name: str) -> Path:
    """The handout's copy next to this file, else the kit's copy (check.py in the repo)."""
    local = HERE / name
    if local.exists():
        return local
    kit = HERE.parent / "autograder" / name
    return kit if kit.exists() else local


def decode(argument: dict[str, Any]) -> Any:
    """A fixture argument as a fresh writable array, float or int."""
    if "array" in argument:
        raw = argument["array"]
        return np.array(raw["data"], dtype=raw["dtype"]).reshape(raw["shape"])
    if "int" in argument:
        return int(argument["int"])
    return float(argument["float"])


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as NumPy prints it."""
    return str(tuple(shape))


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Interrupt the block after ``seconds`` where POSIX alarms exist (else no limit)."""
    usable = hasattr(signal, "setitimer") and (
        threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: types.FrameType | None) -> None:
        raise CallTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Hide what student code prints and NumPy's overflow warnings (the grader ignores both)."""
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        yield


def explain_exception(exc: BaseException, path: Path) -> str:
    """An exception as type, message and the last line of the student's file it passed."""
    if isinstance(exc, CallTimeout):
        return f"did not finish within {CALL_SECONDS} s (the grader's limit per call)"
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    where = f" (line {line} of {path.name})" if line else ""
    message = f": {exc}" if str(exc) else ""
    return f"raised {type(exc).__name__}{message}{where}"


def load_module(path: Path) -> tuple[types.ModuleType | None, str]:
    """Import the submission in-process; on failure return the reason instead."""
    spec = importlib.util.spec_from_file_location("mhsa_submission", path)
    if spec is None or spec.loader is None:
        return None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        with time_limit(CALL_SECONDS), quiet():
            spec.loader.exec_module(module)
    except (
        Exception,
        SystemExit,
        CallTimeout,
    ) as exc:  # any failure is the student's to see
        return None, "importing it " + explain_exception(exc, path)
    return module, ""


def find_functions(module: types.ModuleType | None) -> dict[str, str]:
    """Graded function -> the name the submission defines it under."""
    found: dict[str, str] = {}
    for function, names in ALIASES.items():
        for name in names:
            if module is not None and callable(getattr(module, name, None)):
                found[function] = name
                break
    return found


def title(case: dict[str, Any], name: str, expected_arrays: int) -> str:
    """The check's one-line name, e.g. ``create_qkv values match (B=2, L=5, D=8)``."""
    check = case["item"].split(".", 1)[1]
    promise = PROMISES.get(check, check)
    if check == "shapes" and expected_arrays > 1:
        promise += "s"
    return f"{name} {promise} ({case['description']})"


def compare(
    label: str, got: npt.NDArray[Any], want: npt.NDArray[Any], check: str
) -> str:
    """Why ``got`` does not pass for ``want`` (empty when it passes)."""
    if got.shape != want.shape:
        return (
            f"{label} has shape {shape_text(got.shape)}, "
            f"expected {shape_text(want.shape)}"
        )
    if check == "shapes":
        return ""
    if str(got.dtype) not in TOLERANCES:
        return (
            f"{label} has dtype {got.dtype}; a floating-point array "
            "(float64, or float32) is expected"
        )
    rtol, atol = TOLERANCES[str(got.dtype)]
    values = got.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        bad = int((~finite).sum())
        kinds = " and ".join(
            k
            for k, present in (
                ("NaN", np.isnan(values).any()),
                ("inf", np.isinf(values).any()),
            )
            if present
        )
        hint = (
            "; subtract each row's maximum score before exp (stable softmax)"
            if check == "stability"
            else ""
        )
        return f"{label} contains {kinds} ({bad} of {values.size} values){hint}"
    diff = np.abs(values - want)
    outside = diff > atol + rtol * np.abs(want)
    if not outside.any():
        return ""
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    return (
        f"{label}: {int(outside.sum())} of {values.size} values are outside tolerance "
        f"(rtol={rtol:g}, atol={atol:g}); largest difference {diff[index]:.3g} at "
        f"index {index}: expected {want[index]:.6g}, got {values[index]:.6g}"
    )


def likely_cause(results: list[Any], hints: list[dict[str, Any]]) -> str:
    """The known mistake whose output (shipped in fixtures/hints.json) equals the student's.

    A hint holds what one misconception gives on this public case; NaN/inf are stored as
    null and match only where the student's output is not finite either.
    """
    for hint in hints:
        arrays = hint["arrays"]
        if len(arrays) != len(results):
            continue
        for got, stored in zip(results, arrays):
            want = np.array(
                [np.nan if v is None else v for v in stored["data"]], dtype=np.float64
            ).reshape(stored["shape"])
            if not isinstance(got, np.ndarray) or got.shape != want.shape:
                break
            values = got.astype(np.float64)
            finite = np.isfinite(want)
            if not np.array_equal(np.isfinite(values), finite):
                break
            if not np.allclose(values[finite], want[finite], rtol=1e-4, atol=1e-6):
                break
        else:
            return str(hint["explanation"])
    return ""


def judge_return(
    case: dict[str, Any], result: Any, hints: list[dict[str, Any]]
) -> tuple[list[str], bool]:
    """Problems with a normal return for an array case, and whether arrays came back."""
    wants = [
        np.array(a["data"], dtype=a["dtype"]).reshape(a["shape"])
        for a in case["expected"]["arrays"]
    ]
    check = case["item"].split(".", 1)[1]
    if len(wants) == 3:
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            got = (
                f"a {type(result).__name__} of {len(result)}"
                if isinstance(result, (tuple, list))
                else f"a {type(result).__name__}"
            )
            return [
                f"should return a tuple (Q, K, V) of 3 arrays; it returned {got}"
            ], False
        results, labels = list(result), ["Q", "K", "V"]
    else:
        results, labels = [result], ["the output"]
    strays = [type(r).__name__ for r in results if not isinstance(r, np.ndarray)]
    if strays:
        return [f"returned a {strays[0]}, not a numpy array"], False
    problems = [compare(lab, r, w, check) for lab, r, w in zip(labels, results, wants)]
    problems = [p for p in problems if p]
    cause = likely_cause(results, hints) if problems else ""
    if cause:
        problems.append(f"likely cause: {cause}")
    return problems, True


def run_case(
    case: dict[str, Any],
    found: dict[str, str],
    module: Any,
    path: Path,
    hints: list[dict[str, Any]],
) -> Outcome:
    """Call the student's function on one public case and judge what comes back."""
    function = case["function"]
    name = found.get(function, function)
    wants = case["expected"].get("arrays", [])
    heading = title(case, name, len(wants))
    if function not in found:
        return Outcome(
            case, heading, False, f"{path.name} defines no function `{name}`"
        )
    args = [decode(a) for a in case["args"]]
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    result: Any = None
    error: BaseException | None = None
    try:
        with time_limit(CALL_SECONDS), quiet():
            result = getattr(module, name)(*args)
    except (
        Exception,
        SystemExit,
        CallTimeout,
    ) as exc:  # any failure is the student's to see
        error = exc
    problems: list[str] = []
    returned = False
    if "raises" in case["expected"]:
        if isinstance(error, ValueError):
            pass
        elif error is not None:
            problems.append(
                f"expected ValueError; instead it {explain_exception(error, path)}"
            )
        else:
            problems.append(
                "expected ValueError (num_heads must be >= 1 and divide D), "
                "but it returned normally"
            )
    elif error is not None:
        problems.append(explain_exception(error, path))
    else:
        found_problems, returned = judge_return(case, result, hints)
        problems += found_problems
    params = PARAMETERS[function]
    for index, (now, then) in enumerate(zip(args, before)):
        if isinstance(then, np.ndarray) and not (
            isinstance(now, np.ndarray) and np.array_equal(now, then, equal_nan=True)
        ):
            problems.append(
                f"modified its argument `{params[index]}` in place; compute into new "
                "arrays instead (e.g. `x = x - m`, not `x -= m`)"
            )
    return Outcome(case, heading, not problems, "\n".join(problems), returned)


def graded_defs(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Top-level definitions of the graded functions, under whichever name is used."""
    defs = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    chosen: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for names in ALIASES.values():
        name = next((n for n in names if n in defs), None)
        if name is not None:
            chosen[name] = defs[name]
    return chosen


def missing_annotations(text: str) -> list[str]:
    """What the graded functions leave unannotated (parameters and returns)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ["the file does not parse"]
    chosen = graded_defs(tree)
    missing = [
        f"`{f}` is not defined" for f in ALIASES if not set(ALIASES[f]) & set(chosen)
    ]
    for name, node in chosen.items():
        a = node.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
        params += [p for p in (a.vararg, a.kwarg) if p is not None]
        missing += [
            f"`{name}`: parameter `{p.arg}`" for p in params if p.annotation is None
        ]
        if node.returns is None:
            missing.append(f"`{name}`: the return value")
    return missing


def without_silencers(text: str) -> str:
    """Drop ``# type: ignore`` and ``# mypy:`` comments, as the grader does before mypy."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    lines = text.splitlines(keepends=True)
    for token in reversed(tokens):
        lowered = token.string.lower().replace(" ", "")
        if token.type == tokenize.COMMENT and (
            "type:ignore" in lowered or "mypy:" in lowered
        ):
            row, col = token.start
            line = lines[row - 1]
            lines[row - 1] = line[:col] + line[col + len(token.string) :]
    return "".join(lines)


def run_mypy(text: str) -> tuple[list[str] | None, str]:
    """mypy's errors with the grader's settings, or None and why when it cannot run."""
    if importlib.util.find_spec("mypy") is None:
        return None, "mypy is not installed (pip install mypy); the grader runs it"
    with tempfile.TemporaryDirectory(prefix="mhsa-check-") as folder:
        (Path(folder) / "mypy.ini").write_text(MYPY_CONFIG)
        (Path(folder) / "mhsa.py").write_text(without_silencers(text), encoding="utf-8")
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


def black_advice(text: str) -> tuple[bool | None, str]:
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
    return False, "black would reformat the file (advice only): run `black mhsa.py`"


def estimate(
    rubric: list[dict[str, Any]],
    outcomes: list[Outcome],
    typing_: Typing,
    formatted: bool | None,
) -> list[tuple[str, float, float, str]]:
    """(item, estimated points, points, why) per rubric item, the way the grader scores."""
    by_item: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_item.setdefault(outcome.case["item"], []).append(outcome)
    mha_returns = any(
        o.returned
        for o in outcomes
        if o.case["function"] == "multi_head_attention"
        and "arrays" in o.case["expected"]
    )
    rows: list[tuple[str, float, float, str]] = []
    for item in rubric:
        item_id, points = str(item["id"]), float(item["points"])
        if item_id in by_item:
            cases = by_item[item_id]
            passed = sum(o.passed for o in cases)
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


def show(mark: str, line: str, detail: str = "") -> None:
    """Print one check50-style line with its explanation indented below it."""
    print(f"{mark} {line}")
    for row in detail.splitlines():
        print(f"    {row}")


def main(argv: list[str] | None = None) -> int:
    """Run every public case and the static checks; print results and an estimate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission", nargs="?", type=Path, help="default: ./mhsa.py")
    parser.add_argument(
        "--fixtures", type=Path, default=find_data("fixtures/public.json")
    )
    parser.add_argument("--rubric", type=Path, default=find_data("rubric.json"))
    parser.add_argument(
        "--hints",
        type=Path,
        default=find_data("fixtures/hints.json"),
        help="known mistakes' outputs on the public cases (optional; in the handout)",
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
    cases: list[dict[str, Any]] = json.loads(options.fixtures.read_text())["cases"]
    rubric: list[dict[str, Any]] = json.loads(options.rubric.read_text())["items"]
    hints: dict[str, list[dict[str, Any]]] = (
        json.loads(options.hints.read_text())["cases"]
        if options.hints.is_file()
        else {}
    )
    text = path.read_text(encoding="utf-8", errors="replace")
    print(f"Checking {path} on {len(cases)} public cases\n")

    all_passed = True
    module, problem = load_module(path)
    if module is None:
        show(":(", f"{path.name} imports", problem)
        all_passed = False
    found = find_functions(module)
    if module is not None:
        missing = [" or ".join(ALIASES[f]) for f in ALIASES if f not in found]
        named = ", ".join(found.values())
        if missing:
            show(
                ":(",
                f"{path.name} defines the graded functions",
                "missing: " + ", ".join(missing),
            )
            all_passed = False
        else:
            show(":)", f"{path.name} defines {named}")
        if found.get("multi_head_attention") == "multi_head_self_attention":
            print(
                "    (found multi_head_self_attention; multi_head_attention is preferred)"
            )

    outcomes = [
        run_case(case, found, module, path, hints.get(case["id"], [])) for case in cases
    ]
    for outcome in outcomes:
        show(":)" if outcome.passed else ":(", outcome.title, outcome.detail)
        all_passed &= outcome.passed

    missing = missing_annotations(text)
    show(
        ":)" if not missing else ":(",
        "the three functions annotate every parameter and their return",
        "\n".join("missing: " + m for m in missing),
    )
    mypy_errors, mypy_note = run_mypy(text)
    if mypy_errors is None:
        show(":|", "mypy not run", mypy_note)
    else:
        show(
            ":)" if not mypy_errors else ":(",
            "mypy reports no error",
            "\n".join(mypy_errors),
        )
    all_passed &= not missing and not mypy_errors
    formatted, black_note = black_advice(text)
    show({True: ":)", False: ":|", None: ":|"}[formatted], black_note)

    rows = estimate(rubric, outcomes, Typing(missing, mypy_errors), formatted)
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
