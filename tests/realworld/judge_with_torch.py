"""Judge the real-world corpus without the kit: PyTorch computes every expected value.

The kit's grade for each corpus file is checked (tests/test_realworld.py) against the points
written here, so this judgment must not lean on the kit: it reads the graded cases' inputs
from the fixture files and the points from the rubric file, and nothing else of the kit.

    make .venv-bench/.installed
    .venv-bench/bin/python tests/realworld/judge_with_torch.py

writes tests/realworld/EXPECTED.json. PyTorch lives only in the bench venv; every submission
runs in a child process started with the grading venv's Python (numpy, no scipy), which also
runs mypy, with only numpy and the standard library importable, as SPEC promises students.

Expected values, all in float64:

- ``create_qkv``: plain matmuls, ``inputs @ weights_*``.
- ``scaled_dot_product_attention``: ``torch.nn.functional.scaled_dot_product_attention`` with
  its ``scale=`` argument.
- ``multi_head_attention``: ``torch.nn.MultiheadAttention(D, h, bias=False,
  batch_first=True)`` with ``in_proj_weight = [Wq^T; Wk^T; Wv^T]`` and an identity
  ``out_proj``.

A case passes (SPEC.md):

- values and stability items: the right container (a 3-tuple or list for ``create_qkv``, one
  array otherwise), the right shapes, finite values, and dtype float64 within rtol 1e-5 /
  atol 1e-8, or dtype float32 within FLOAT32_RULE below; any other dtype fails.
- shapes items: the right container and shapes; values and dtype are not looked at.
- any item: an argument modified in place fails the case.
- bad_heads: a ``ValueError`` raised by a ``raise`` statement of the submission's own file
  (the innermost traceback frame is a line of a ``raise`` in that file); one raised inside
  numpy, or by a numpy method called from the student's line, does not count.

Points: each item's points (rubric.json) times its fraction of cases passed, rounded to
0.01. ``mha.bad_heads`` counts only if ``multi_head_attention`` returned an array for some
valid input. ``typing`` is earned when the three functions (``def`` at the top level, the
third under either accepted name) annotate every parameter and their return, and mypy with
autograder/static/student_mypy.ini reports no error on the file (which must carry no ``# type:
ignore`` or ``# mypy:`` comment, since the grader removes them), and only when some
correctness points were earned. ``formatting``
is worth 0.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent.parent
CORPUS = HERE / "submissions"
EXPECTED_FILE = HERE / "EXPECTED.json"
FIXTURE_FILES = [
    KIT_ROOT / "autograder" / "fixtures" / f"{v}.json" for v in ("public", "hidden")
]
RUBRIC_FILE = KIT_ROOT / "autograder" / "score" / "rubric.json"
MYPY_CONFIG = KIT_ROOT / "autograder" / "static" / "student_mypy.ini"
GRADING_PYTHON = KIT_ROOT / ".venv" / "bin" / "python"
CHILD_SECONDS = 120.0

Array = npt.NDArray[np.float64]

GRADED_NAMES: dict[str, tuple[str, ...]] = {
    "create_qkv": ("create_qkv",),
    "scaled_dot_product_attention": ("scaled_dot_product_attention",),
    "multi_head_attention": ("multi_head_attention", "multi_head_self_attention"),
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
FLOAT64_RTOL, FLOAT64_ATOL = 1e-5, 1e-8
UNIT_ROUNDOFF32 = float(np.finfo(np.float32).eps) / 2  # 2**-24
SAFETY = 2.0
FLOAT32_RULE = (
    "A float32 result passes when every element is within max(float64 tolerance, "
    f"{SAFETY:g} x B) of the float64 reference, B being the first-order forward error bound "
    "of the same computation done in float32 arithmetic (unit roundoff u = 2**-24), from the "
    "case's own magnitudes: create_qkv B = (D + 3) u (|X| @ |W|); attention: score error "
    "E = (dk + 6) u scale (|Q| @ |K|^T) + 2 u max|S| per row, weight error "
    "|dP| <= P (exp(2 max_row E) - 1 + (Lk + 4) u), B = |dP| @ |V| + (Lk + 3) u (P @ |V|); "
    "multi-head the same per head with Q, K, V themselves float32 products: score error "
    "(2D + hd + 10) u scale (|X||Wq|)_h @ (|X||Wk|)_h^T, and B adds P @ ((D + 3) u |X||Wv|)_h."
)
SILENCER = re.compile(r"type:\s*ignore|mypy\s*:", re.IGNORECASE)
MYPY_ERROR = re.compile(r"^(?P<file>[^:]+\.py):\d+: error: ")


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One graded call: what goes in, and which rubric item it counts for."""

    id: str
    item: str
    function: str
    arrays: tuple[Array, ...]
    scalar: float | int | None  # scale or num_heads, the last argument when present

    @property
    def check(self) -> str:
        """values, shapes, stability or bad_heads."""
        return self.item.split(".", 1)[1]


def load_cases() -> list[Case]:
    """Every public then hidden case of the fixture files (inputs only)."""
    cases = []
    for path in FIXTURE_FILES:
        for raw in json.loads(path.read_text())["cases"]:
            arrays = []
            scalar: float | int | None = None
            for arg in raw["args"]:
                if "array" in arg:
                    data = arg["array"]
                    arrays.append(
                        np.asarray(data["data"], dtype=np.float64).reshape(
                            data["shape"]
                        )
                    )
                else:
                    scalar = int(arg["int"]) if "int" in arg else float(arg["float"])
            cases.append(
                Case(raw["id"], raw["item"], raw["function"], tuple(arrays), scalar)
            )
    return cases


def fixture_expected() -> dict[str, list[Array]]:
    """The fixtures' own expected arrays, used only to cross-check PyTorch's."""
    expected = {}
    for path in FIXTURE_FILES:
        for raw in json.loads(path.read_text())["cases"]:
            expected[raw["id"]] = [
                np.asarray(a["data"], dtype=np.float64).reshape(a["shape"])
                for a in raw["expected"].get("arrays", [])
            ]
    return expected


# --------------------------------------------------------------------------- PyTorch


def torch_reference(case: Case) -> list[Array]:
    """The expected arrays of a case, computed by PyTorch in float64."""
    import torch

    def tensor(a: Array) -> Any:
        return torch.from_numpy(a.copy())

    def array(t: Any) -> Array:
        return np.asarray(t.detach().numpy(), dtype=np.float64)

    with torch.no_grad():
        if case.function == "create_qkv":
            x = tensor(case.arrays[0])
            return [array(torch.matmul(x, tensor(w))) for w in case.arrays[1:]]
        if case.function == "scaled_dot_product_attention":
            q, k, v = (tensor(a) for a in case.arrays)
            out = torch.nn.functional.scaled_dot_product_attention(
                q, k, v, scale=case.scalar
            )
            return [array(out)]
        inputs, wq, wk, wv = case.arrays
        dim = inputs.shape[-1]
        layer = torch.nn.MultiheadAttention(
            dim, int(case.scalar or 0), bias=False, batch_first=True
        ).double()
        layer.in_proj_weight.copy_(tensor(np.concatenate([wq.T, wk.T, wv.T])))
        layer.out_proj.weight.copy_(torch.eye(dim, dtype=torch.float64))
        x = tensor(inputs)
        out, _ = layer(x, x, x, need_weights=False)
        return [array(out)]


# --------------------------------------------------------------------------- float32 rule


def _softmax(scores: Array) -> Array:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights: Array = shifted / shifted.sum(axis=-1, keepdims=True)
    return weights


def _attention_bound(
    magnitude_qk: Array,
    scores: Array,
    abs_v: Array,
    value_error: Array,
    depth: int,
    extra: int,
) -> Array:
    """Forward error bound of softmax(scores) @ V computed in float32 (see FLOAT32_RULE)."""
    u = UNIT_ROUNDOFF32
    score_error = (depth + extra) * u * magnitude_qk
    score_error = score_error + 2 * u * np.abs(scores).max(axis=-1, keepdims=True)
    weights = _softmax(scores)
    keys = scores.shape[-1]
    drift = np.expm1(2 * score_error.max(axis=-1, keepdims=True)) + (keys + 4) * u
    bound: Array = (weights * drift) @ abs_v + (keys + 3) * u * (weights @ abs_v)
    return bound + weights @ value_error


def float32_bound(case: Case) -> list[Array]:
    """Per element, how far a correct float32 computation of the case may be off."""
    u = UNIT_ROUNDOFF32
    if case.function == "create_qkv":
        x, *weights = (np.abs(a) for a in case.arrays)
        return [(x.shape[-1] + 3) * u * (x @ w) for w in weights]
    if case.function == "scaled_dot_product_attention":
        q, k, v = case.arrays
        scale = float(case.scalar or 0)
        magnitude = abs(scale) * (np.abs(q) @ np.swapaxes(np.abs(k), -1, -2))
        scores = scale * (q @ np.swapaxes(k, -1, -2))
        return [
            _attention_bound(
                magnitude, scores, np.abs(v), np.zeros_like(v), q.shape[-1], 6
            )
        ]
    inputs, wq, wk, wv = case.arrays
    batch, length, dim = inputs.shape
    heads = int(case.scalar or 1)
    head_dim = dim // heads

    def split(a: Array) -> Array:
        return a.reshape(batch, length, heads, head_dim).swapaxes(1, 2)

    abs_x = np.abs(inputs)
    mq, mk, mv = (split(abs_x @ np.abs(w)) for w in (wq, wk, wv))
    q, k = split(inputs @ wq), split(inputs @ wk)
    scale = head_dim**-0.5
    magnitude = scale * (mq @ mk.swapaxes(-1, -2))
    scores = scale * (q @ k.swapaxes(-1, -2))
    value_error = (dim + 3) * u * mv
    bound = _attention_bound(magnitude, scores, mv, value_error, 2 * dim + head_dim, 10)
    return [bound.swapaxes(1, 2).reshape(batch, length, dim)]


# --------------------------------------------------------------------------- the child


class _OnlyNumpyAndStdlib(importlib.abc.MetaPathFinder):
    """Refuses every top-level module but numpy and the standard library."""

    allowed = frozenset(sys.stdlib_module_names) | {"numpy"}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.allowed:
            raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
        return None


def _raise_lines(source: str) -> set[int]:
    """Every line that belongs to a ``raise`` statement."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _innermost(tb: TracebackType | None) -> tuple[str, int]:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb else ("", 0)


def _call(
    function: Any, args: list[Any], own: Path, raise_lines: set[int]
) -> dict[str, Any]:
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            returned = function(*args)
    except Exception as exc:  # the student's exception is the outcome
        filename, line = _innermost(exc.__traceback__)
        mine = Path(filename).resolve() == own
        return {
            "status": "raised",
            "type": type(exc).__name__,
            "own_raise": mine and line in raise_lines,
            "where": f"{'own file' if mine else filename}:{line}",
        }
    modified = [
        i
        for i, (a, b) in enumerate(zip(args, before))
        if isinstance(a, np.ndarray) and not np.array_equal(a, b, equal_nan=True)
    ]
    if isinstance(returned, (tuple, list)):
        container, values = type(returned).__name__, list(returned)
    else:
        container, values = "array", [returned]
    return {
        "status": "returned",
        "container": (
            container if isinstance(returned, (tuple, list, np.ndarray)) else "other"
        ),
        "values": [v if isinstance(v, np.ndarray) else None for v in values],
        "modified": modified,
    }


def run_child(submission: Path, calls_file: Path, inputs_file: Path, out: Path) -> None:
    """In the child: import the submission, make every call, write what came back."""
    sys.meta_path.insert(0, _OnlyNumpyAndStdlib())
    own = submission.resolve()
    source = submission.read_text(encoding="utf-8")
    results: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    try:
        spec = importlib.util.spec_from_file_location("submission", own)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        with contextlib.redirect_stdout(io.StringIO()):
            spec.loader.exec_module(module)
    except BaseException as exc:  # an import failure fails every case
        results["import_error"] = f"{type(exc).__name__}: {exc}"
        (out / "results.json").write_text(json.dumps(results))
        return
    raise_lines = _raise_lines(source)
    inputs = np.load(inputs_file)
    calls: list[dict[str, Any]] = []
    for number, call in enumerate(json.loads(calls_file.read_text())):
        names = [n for n in GRADED_NAMES[call["function"]] if hasattr(module, n)]
        if not names:
            calls.append({"status": "missing"})
            continue
        args: list[Any] = [inputs[key].copy() for key in call["arrays"]]
        if call["scalar"] is not None:
            args.append(call["scalar"])
        outcome = _call(getattr(module, names[0]), args, own, raise_lines)
        values = outcome.pop("values", [])
        outcome["arrays"] = []
        for index, value in enumerate(values):
            key = f"r{number}_{index}"
            if value is not None and value.dtype != object:
                arrays[key] = value
                outcome["arrays"].append(key)
            else:
                outcome["arrays"].append(None)
        calls.append(outcome)
    results["calls"] = calls
    np.savez(out / "outputs.npz", **arrays)
    (out / "results.json").write_text(json.dumps(results))


# --------------------------------------------------------------------------- the parent


@dataclass
class Outcome:
    """What one call did, as the child reported it."""

    status: str  # returned, raised, missing, not_run
    container: str = ""
    values: list[npt.NDArray[Any] | None] = field(default_factory=list)
    modified: list[int] = field(default_factory=list)
    exception: str = ""
    own_raise: bool = False
    note: str = ""


def run_submission(submission: Path, cases: list[Case], python: Path) -> list[Outcome]:
    """Every case's outcome for one submission, from one child process with a time limit."""
    with tempfile.TemporaryDirectory(prefix="realworld-") as folder:
        work = Path(folder)
        inputs: dict[str, Any] = {}  # Any: savez also takes allow_pickle by keyword
        calls = []
        for number, case in enumerate(cases):
            keys = []
            for index, array in enumerate(case.arrays):
                keys.append(f"c{number}_{index}")
                inputs[keys[-1]] = array
            calls.append(
                {"function": case.function, "arrays": keys, "scalar": case.scalar}
            )
        np.savez(work / "inputs.npz", **inputs)
        (work / "calls.json").write_text(json.dumps(calls))
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
        command = [str(python), "-I", str(Path(__file__).resolve()), "--child"]
        command += [str(submission), str(work / "calls.json"), str(work / "inputs.npz")]
        try:
            subprocess.run(
                [*command, str(work)],
                cwd=work,
                env=env,
                timeout=CHILD_SECONDS,
                check=False,
                capture_output=True,
            )
        except subprocess.TimeoutExpired:
            return [Outcome("not_run", note="timeout")] * len(cases)
        report = work / "results.json"
        if not report.exists():
            return [Outcome("not_run", note="the child crashed")] * len(cases)
        results = json.loads(report.read_text())
        if "import_error" in results:
            return [Outcome("not_run", note=results["import_error"])] * len(cases)
        with np.load(work / "outputs.npz") as stored:
            outputs = {key: stored[key] for key in stored.files}
    outcomes = []
    for raw in results["calls"]:
        outcomes.append(
            Outcome(
                status=raw["status"],
                container=raw.get("container", ""),
                values=[outputs[k] if k else None for k in raw.get("arrays", [])],
                modified=raw.get("modified", []),
                exception=raw.get("type", ""),
                own_raise=raw.get("own_raise", False),
                note=raw.get("where", ""),
            )
        )
    return outcomes


def _within(got: npt.NDArray[Any], want: Array, bound: Array) -> bool:
    if got.dtype == np.float64:
        tolerance = FLOAT64_ATOL + FLOAT64_RTOL * np.abs(want)
    elif got.dtype == np.float32:
        tolerance = np.maximum(
            FLOAT64_ATOL + FLOAT64_RTOL * np.abs(want), SAFETY * bound
        )
    else:
        return False
    values = got.astype(np.float64)
    return bool(
        np.isfinite(values).all() and (np.abs(values - want) <= tolerance).all()
    )


def passes(case: Case, outcome: Outcome, want: list[Array], bound: list[Array]) -> bool:
    """Whether one outcome earns its case (the rules in this module's docstring)."""
    if case.check == "bad_heads":
        return (
            outcome.status == "raised"
            and outcome.exception == "ValueError"
            and (outcome.own_raise)
        )
    if outcome.status != "returned" or outcome.modified:
        return False
    containers = ("tuple", "list") if len(want) == 3 else ("array",)
    if outcome.container not in containers or len(outcome.values) != len(want):
        return False
    for got, expected, allowed in zip(outcome.values, want, bound):
        if got is None or got.shape != expected.shape:
            return False
        if case.check != "shapes" and not _within(got, expected, allowed):
            return False
    return True


def float32_margin(
    case: Case, outcome: Outcome, want: list[Array], bound: list[Array]
) -> float:
    """For a float32 result: the largest error as a fraction of the allowed one (else 0)."""
    ratios = [0.0]
    for got, expected, allowed in zip(outcome.values, want, bound):
        if got is not None and got.dtype == np.float32 and got.shape == expected.shape:
            tolerance = np.maximum(
                FLOAT64_ATOL + FLOAT64_RTOL * np.abs(expected), SAFETY * allowed
            )
            ratios.append(
                float((np.abs(got.astype(np.float64) - expected) / tolerance).max())
            )
    return max(ratios)


def annotations_complete(source: str) -> bool:
    """The three graded functions are top-level defs annotating every parameter and return."""
    defs = {
        node.name: node
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    for names in GRADED_NAMES.values():
        node = next((defs[n] for n in names if n in defs), None)
        if node is None or node.returns is None:
            return False
        a = node.args
        params = [
            *a.posonlyargs,
            *a.args,
            *a.kwonlyargs,
            *filter(None, (a.vararg, a.kwarg)),
        ]
        if any(p.annotation is None for p in params):
            return False
    return True


def mypy_clean(files: list[Path], python: Path) -> dict[str, bool]:
    """One mypy run (the kit's student settings) over the files: clean or not."""
    with tempfile.TemporaryDirectory(prefix="realworld-mypy-") as folder:
        work = Path(folder)
        for path in files:
            text = path.read_text(encoding="utf-8")
            if SILENCER.search(
                text
            ):  # the grader removes them: keep the corpus free of them
                raise ValueError(
                    f"{path.name}: drop its `# type: ignore`/`# mypy:` comments"
                )
            (work / path.name).write_text(text)
        result = subprocess.run(
            [
                str(python),
                "-m",
                "mypy",
                "--config-file",
                str(MYPY_CONFIG),
                "--no-error-summary",
                "--cache-dir",
                str(work / ".mypy_cache"),
                *(p.name for p in files),
            ],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"mypy failed: {result.stderr or result.stdout}")
    flagged = {
        m["file"] for m in map(MYPY_ERROR.match, result.stdout.splitlines()) if m
    }
    return {path.name: path.name not in flagged for path in files}


def score(
    cases: list[Case], verdicts: list[bool], outcomes: list[Outcome], typed: bool
) -> dict[str, Any]:
    """Points per rubric item and the total, with the failed cases for reference."""
    rubric = {
        raw["id"]: float(raw["points"])
        for raw in json.loads(RUBRIC_FILE.read_text())["items"]
    }
    returns = any(
        o.status == "returned" and o.container == "array"
        for c, o in zip(cases, outcomes)
        if c.item in ("mha.values", "mha.shapes")
    )
    items: dict[str, float] = {}
    failed: dict[str, list[str]] = {}
    for item in CORRECTNESS_ITEMS:
        mine = [(c, v) for c, v in zip(cases, verdicts) if c.item == item]
        fraction = sum(v for _, v in mine) / len(mine)
        if item == "mha.bad_heads" and not returns:
            fraction = 0.0
        items[item] = round(rubric[item] * fraction, 2)
        failed[item] = [c.id for c, v in mine if not v]
    earned = sum(items.values()) > 0
    items["typing"] = rubric["typing"] if typed and earned else 0.0
    items["formatting"] = 0.0
    return {
        "items": items,
        "total": round(sum(items.values()), 2),
        "failed_cases": {k: v for k, v in failed.items() if v},
    }


def judge(python: Path) -> dict[str, Any]:
    """The whole corpus judged: the content of EXPECTED.json."""
    cases = load_cases()
    references = [torch_reference(c) if c.check != "bad_heads" else [] for c in cases]
    stored = fixture_expected()
    agreement = max(
        float(np.abs(mine - theirs).max())
        for case, ref in zip(cases, references)
        for mine, theirs in zip(ref, stored[case.id])
    )
    print(
        f"PyTorch vs the fixtures' expected values: largest difference {agreement:.3g}"
    )
    bounds = [float32_bound(c) if c.check != "bad_heads" else [] for c in cases]
    files = sorted(CORPUS.glob("*.py"))
    typed = mypy_clean(files, python)
    judged: dict[str, Any] = {}
    for path in files:
        outcomes = run_submission(path, cases, python)
        verdicts = [passes(*row) for row in zip(cases, outcomes, references, bounds)]
        entry = score(
            cases,
            verdicts,
            outcomes,
            typed[path.name] and annotations_complete(path.read_text(encoding="utf-8")),
        )
        entry["mistaken"] = path.name.startswith("m")
        margin = max(
            float32_margin(*row) for row in zip(cases, outcomes, references, bounds)
        )
        if margin:
            entry["float32_error_over_tolerance"] = round(margin, 4)
        notes = sorted({o.note for o in outcomes if o.status == "not_run"})
        if notes:
            entry["not_run"] = notes
        judged[path.name] = entry
        print(f"{path.name:40} {entry['total']:5.2f}  {entry['failed_cases'] or ''}")
    return {
        "about": (
            "Points each corpus file deserves, judged against PyTorch by "
            "tests/realworld/judge_with_torch.py (rules in its docstring); "
            "tests/test_realworld.py checks the kit's grades against them."
        ),
        "float32_rule": FLOAT32_RULE,
        "torch_vs_fixtures_max_difference": float(f"{agreement:.3g}"),
        "files": judged,
    }


def main(argv: list[str] | None = None) -> None:
    """Judge the corpus (or, with --child, run one submission's calls)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--child", nargs=4, metavar=("SUBMISSION", "CALLS", "INPUTS", "OUT")
    )
    parser.add_argument(
        "--python",
        type=Path,
        default=GRADING_PYTHON,
        help="the Python that runs submissions and mypy (numpy, no torch)",
    )
    parser.add_argument("--out", type=Path, default=EXPECTED_FILE)
    args = parser.parse_args(argv)
    if args.child:
        run_child(*(Path(p) for p in args.child))
        return
    if shutil.which(str(args.python)) is None:
        parser.error(f"{args.python} not found: run `make venv` first")
    expected = judge(args.python.absolute())  # not resolve(): a venv's python is a link
    args.out.write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
