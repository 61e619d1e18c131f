"""The kit's graded checks for Otter-Grader: shipped as the package ``mhsa_otter``.

Otter runs a submission inside a Jupyter kernel and then executes its test files in that
same kernel, so this module runs beside student code with no confinement at all. It copies
the kit's rules (``autograder/compare.py``, ``scoring.py``, ``static.py``) closely enough that
Otter gives the bundled examples the same totals as ``make grade``, and limits what the
in-process path exposes:

- Hidden cases carry no expected values: ``cases.json`` holds, per hidden array, its shape,
  a cell width ``2 * half_width``, one offset per value and a SHA-256 digest of the cell
  indices the expected values fall in. Each offset puts its expected value at the centre of
  its cell, so a result passes exactly when every value lies within ``half_width`` of the
  expected one; the offsets reveal only the digits below the cell width.
- Values are compared in plain Python on floats read from the returned array itself, never
  through numpy's comparison functions, so replacing ``np.allclose`` or ``np.isclose``
  changes nothing.
- Every call gets fresh copies of its inputs and a wall-clock alarm; a function that hangs
  once is not called again.

What a student's code can still do here (read the shipped files, replace Otter's own
functions, run for as long as the kernel lives) is listed in ``docs/otter.md``.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import math
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import tokenize
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

DATA = Path(__file__).with_name("cases.json")
CALL_SECONDS = 10
SILENCING_COMMENT = re.compile(r"type:\s*ignore|mypy\s*:", re.IGNORECASE)
MYPY_LINE = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): (?P<kind>error|note): ")
PARAMETERS: dict[str, tuple[str, ...]] = {
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
CORRECTNESS_ITEMS = (
    "qkv.values",
    "qkv.shapes",
    "sdpa.values",
    "sdpa.stability",
    "sdpa.shapes",
    "mha.values",
    "mha.shapes",
    "mha.bad_heads",
)


class CallTimeout(BaseException):
    """Raised by the alarm (not an Exception, so student code cannot swallow it by accident)."""


@dataclass(frozen=True)
class Verdict:
    """One case's outcome; ``returned`` marks a call that gave back arrays (the gates)."""

    passed: bool
    message: str = ""
    returned: bool = False


_data: dict[str, Any] = {}
_verdicts: dict[str, Verdict] = {}
_hung: dict[str, str] = {}


def data() -> dict[str, Any]:
    """The exported cases, aliases, tolerances and mypy settings (read once)."""
    if not _data:
        _data.update(json.loads(DATA.read_text(encoding="utf-8")))
    return _data


def case(case_id: str) -> dict[str, Any]:
    """One exported case by id."""
    found: dict[str, Any] = next(c for c in data()["cases"] if c["id"] == case_id)
    return found


# --- the hidden-value cells -------------------------------------------------------------


def cell_digest(
    values: list[float], offsets: list[float], width: float, salt: str
) -> str:
    """SHA-256 of the cells that ``values`` (shifted by ``offsets``) fall in."""
    digest = hashlib.sha256(salt.encode())
    for value, offset in zip(values, offsets):
        digest.update(struct.pack("<q", math.floor((value + offset) / width)))
    return digest.hexdigest()


def centring_offsets(values: list[float], width: float) -> list[float]:
    """Offsets that move each value to the centre of its cell (used when exporting)."""
    return [(math.floor(v / width) + 0.5) * width - v for v in values]


# --- calling student code ---------------------------------------------------------------


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


def decode(argument: dict[str, Any]) -> Any:
    """A case argument as a fresh writable array, int or float."""
    if "array" in argument:
        raw = argument["array"]
        return np.array(raw["data"], dtype=np.dtype(raw["dtype"])).reshape(raw["shape"])
    if "int" in argument:
        return int(argument["int"])
    return float(argument["float"])


def resolve(
    env: dict[str, Any], function: str
) -> tuple[str, Callable[..., Any] | None]:
    """The name the submission uses for ``function``, and the function (None if absent)."""
    aliases: list[str] = data()["aliases"][function]
    for alias in aliases:
        found = env.get(alias)
        if callable(found):
            return alias, found
    return " or ".join(f"`{a}`" for a in aliases), None


def describe_raised(subject: str, exc: BaseException) -> str:
    """An exception in the student's words, as the kit's grader words it."""
    kind = type(exc).__name__
    if kind == "NotImplementedError":
        return f"{subject} is not implemented yet (it raises NotImplementedError)"
    if kind == "SystemExit":
        return f"{subject} called sys.exit (exit code {getattr(exc, 'code', None)!r})"
    if kind == "RecursionError":
        return f"{subject} recursed too deeply (RecursionError)"
    text = " ".join(str(exc).split())[:300]
    return f"{subject} raised {kind}" + (f": {text}" if text else "")


def fingerprint(array: Any) -> bytes:
    """The bytes and shape of an argument, to notice in-place modification."""
    if isinstance(array, np.ndarray):
        return repr((array.dtype.str, array.shape)).encode() + array.tobytes()
    return repr(array).encode()


def run_case(env: dict[str, Any], spec: dict[str, Any]) -> Verdict:
    """Call the student's function on one case and judge what comes back."""
    function = spec["function"]
    name, target = resolve(env, function)
    if target is None:
        return Verdict(False, f"no function named {name} was found at the top level")
    if function in _hung:
        return Verdict(False, _hung[function])
    args = [decode(a) for a in spec["args"]]
    before = [fingerprint(a) for a in args]
    try:
        with time_limit(CALL_SECONDS), contextlib.redirect_stdout(io.StringIO()):
            with np.errstate(all="ignore"):
                result = target(*args)
    except CallTimeout:
        _hung[function] = (
            f"{name} did not return within {CALL_SECONDS} s (endless loop or far too "
            "slow); its other cases were not run again"
        )
        return Verdict(False, _hung[function])
    except BaseException as exc:  # noqa: B036 - whatever student code raises is judged
        return judge_raised(spec, name, exc)
    if "raises" in spec["expected"]:
        return Verdict(False, expected_raise(spec, name) + ", but it returned normally")
    verdict = judge_return(spec, name, result)
    modified = [i for i, (a, b) in enumerate(zip(args, before)) if fingerprint(a) != b]
    if verdict.passed and modified:
        params = PARAMETERS[function]
        which = ", ".join(f"`{params[i]}`" for i in modified if i < len(params))
        return Verdict(
            False,
            f"`{name}` modified its argument {which} in place; compute into new arrays "
            "instead (e.g. `x = x - m`, not `x -= m`)",
            returned=True,
        )
    return verdict


def expected_raise(spec: dict[str, Any], name: str) -> str:
    """The start of a bad-heads failure message (public cases name the head count)."""
    heads = spec["args"][-1].get("int")
    context = (
        f"num_heads={heads}" if spec["visibility"] == "public" else "a bad head count"
    )
    return f"with {context}, `{name}` should raise {spec['expected']['raises']}"


def judge_raised(spec: dict[str, Any], name: str, exc: BaseException) -> Verdict:
    """A call that raised: right for bad head counts (exactly that type), wrong otherwise."""
    wanted = spec["expected"].get("raises")
    if wanted is not None and type(exc).__name__ == wanted:
        return Verdict(True)
    got = describe_raised(f"`{name}`", exc)
    if wanted is not None:
        return Verdict(False, f"{expected_raise(spec, name)}; instead {got}")
    return Verdict(False, got)


def judge_return(spec: dict[str, Any], name: str, result: Any) -> Verdict:
    """Container, array types, dtypes, shapes, then values, as the kit's grader checks."""
    expected = spec["expected"]
    wanted = expected.get("arrays") or expected.get("cells") or expected.get("shapes")
    count = len(wanted)
    container = type(result).__name__ if isinstance(result, (tuple, list)) else "single"
    if count == 3 and (container == "single" or len(result) != 3):
        got = (
            "a single value"
            if container == "single"
            else f"a {container} of {len(result)}"
        )
        return Verdict(
            False,
            f"`{name}` should return a tuple (Q, K, V) of 3 arrays; it returned {got}",
        )
    if count == 1 and container != "single":
        return Verdict(
            False,
            f"`{name}` should return one numpy array; it returned a {container} "
            f"of {len(result)}",
        )
    results = list(result) if count == 3 else [result]
    check = spec["item"].split(".", 1)[1]
    for got in results:
        if not isinstance(got, np.ndarray):
            return Verdict(
                False, f"`{name}` returned a `{type(got).__name__}`, not a numpy array"
            )
        if check != "shapes" and got.dtype.name not in data()["tolerances"]:
            return Verdict(
                False,
                f"`{name}` returned an array of dtype {got.dtype.name}; a floating-point "
                "array (float64, or float32) is expected",
            )
    labels = ("Q", "K", "V") if count == 3 else ("output",)
    for index, (label, got) in enumerate(zip(labels, results)):
        problem = array_problem(spec, index, got, check)
        if problem:
            return Verdict(False, f"`{name}`: {label} {problem}", returned=True)
    return Verdict(True, returned=True)


def shape_text(shape: list[int] | tuple[int, ...]) -> str:
    """A shape as NumPy prints it."""
    return str(tuple(shape))


def array_problem(
    spec: dict[str, Any], index: int, got: npt.NDArray[Any], check: str
) -> str:
    """Why one returned array fails its case (empty when it passes)."""
    public = spec["visibility"] == "public"
    expected = spec["expected"]
    if "arrays" in expected:
        raw = expected["arrays"][index]
        shape = list(raw["shape"])
    elif "cells" in expected:
        raw = expected["cells"][index]
        shape = list(raw["shape"])
    else:
        shape = list(expected["shapes"][index])
    if list(got.shape) != shape:
        if public:
            return f"has shape {shape_text(got.shape)}, expected {shape_text(shape)}"
        return f"has the wrong shape (rank {got.ndim}, expected rank {len(shape)})"
    if check == "shapes":
        return ""
    values: list[float] = got.astype(np.float64).ravel().tolist()
    bad = sum(1 for v in values if not math.isfinite(v))
    if bad:
        return (
            f"contains NaN or inf ({bad} of {len(values)} values); with large scores exp() "
            "overflows: subtract each row's maximum before exponentiating"
        )
    if "cells" in expected:
        salt = f"{spec['id']}:{index}"
        if cell_digest(values, raw["offsets"], raw["width"], salt) == raw["digest"]:
            return ""
        return "values differ from the expected result"
    rtol, atol = data()["tolerances"][got.dtype.name]
    want: list[float] = raw["data"]
    errors = [abs(g - w) for g, w in zip(values, want)]
    wrong = sum(1 for e, w in zip(errors, want) if e > atol + rtol * abs(w))
    if not wrong:
        return ""
    worst = max(range(len(errors)), key=errors.__getitem__)
    where = np.unravel_index(worst, tuple(shape))
    return (
        f"values differ in {wrong} of {len(values)} places; the largest error is "
        f"{errors[worst]:.3g} at index {tuple(int(i) for i in where)} (expected "
        f"{want[worst]:.6g}, got {values[worst]:.6g})"
    )


def verdict(env: dict[str, Any], case_id: str) -> Verdict:
    """The case's verdict, computed once per grading run."""
    if case_id not in _verdicts:
        _verdicts[case_id] = run_case(env, case(case_id))
    return _verdicts[case_id]


def mha_returns(env: dict[str, Any]) -> bool:
    """Whether multi_head_attention gave back arrays for some valid input (the gate)."""
    return any(
        verdict(env, c["id"]).returned
        for c in data()["cases"]
        if c["item"] in ("mha.values", "mha.shapes")
    )


def counted(env: dict[str, Any], spec: dict[str, Any]) -> Verdict:
    """A case's verdict after the bad-heads gate of the kit's rubric."""
    result = verdict(env, spec["id"])
    if spec["item"] == "mha.bad_heads" and result.passed and not mha_returns(env):
        return Verdict(
            False,
            "not counted: multi_head_attention never returned a result for valid inputs, "
            "and a function that always raises earns nothing here",
        )
    return result


def check_case(env: dict[str, Any], case_id: str) -> None:
    """An Otter test case body: fail with the kit's message unless the case passes."""
    result = counted(env, case(case_id))
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
    """What the graded functions leave unannotated, or which ones are not defined."""
    defs = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    problems: list[str] = []
    aliases: dict[str, list[str]] = data()["aliases"]
    for function, names in aliases.items():
        alias = next((a for a in names if a in defs), None)
        if alias is None:
            problems.append(f"`{function}` is not defined with `def` at the top level")
            continue
        arguments = defs[alias].args
        params = [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            *[a for a in (arguments.vararg, arguments.kwarg) if a is not None],
        ]
        missing = [f"parameter `{p.arg}`" for p in params if p.annotation is None]
        if defs[alias].returns is None:
            missing.append("the return value")
        if missing:
            problems.append(f"`{alias}` lacks annotations on {', '.join(missing)}")
    return problems


def strip_silencers(text: str) -> str:
    """Remove ``# type: ignore`` and ``# mypy:`` comments, keeping line numbers."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    lines = text.splitlines(keepends=True)
    for token in reversed(tokens):
        if token.type == tokenize.COMMENT and SILENCING_COMMENT.search(token.string):
            row, col = token.start
            line = lines[row - 1]
            lines[row - 1] = line[:col] + line[col + len(token.string) :]
    return "".join(lines)


def mypy_errors(text: str) -> list[str] | None:
    """mypy's errors with the kit's settings for submissions; None when mypy cannot run."""
    with tempfile.TemporaryDirectory(prefix="mhsa-otter-mypy-") as folder:
        (Path(folder) / "mypy.ini").write_text(data()["mypy_config"])
        (Path(folder) / "submission_0.py").write_text(
            strip_silencers(text), encoding="utf-8"
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
        counted(env, c).passed
        for c in data()["cases"]
        if c["item"] in CORRECTNESS_ITEMS
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
