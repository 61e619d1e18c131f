"""Checks that need no execution: reading, parsing, names, annotations, mypy, black.

Everything here treats the submission as text. mypy runs in a subprocess (one invocation
for a whole batch when possible) on a copy whose ``# type: ignore`` and ``# mypy:``
comments are removed, so a submission cannot silence the checker it is graded by.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tempfile
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from autograder.config import FUNCTION_ALIASES, MYPY_CONFIG

MAX_SOURCE_BYTES = 512 << 10
SILENCING_COMMENT = re.compile(r"type:\s*ignore|mypy\s*:", re.IGNORECASE)
MYPY_LINE = re.compile(
    r"^(?P<file>[^:]+\.py):(?P<line>\d+): (?P<kind>error|note): (?P<msg>.*)$"
)


@dataclass
class StaticReport:
    """What the grader learned about a submission without running it."""

    fatal: str | None = (
        None  # a problem that stops everything (empty, encoding, syntax)
    )
    fatal_kind: str | None = None
    text: str = ""
    defined: dict[str, str] = field(default_factory=dict)  # canonical -> alias found
    unannotated: dict[str, list[str]] = field(default_factory=dict)
    mypy_errors: list[str] | None = None  # None: mypy could not run
    black_clean: bool | None = None
    black_note: str = ""

    @property
    def annotations_complete(self) -> bool:
        """Every graded function exists as a def and annotates everything."""
        return len(self.defined) == len(FUNCTION_ALIASES) and not any(
            self.unannotated.values()
        )


def read_submission(source: bytes) -> StaticReport:
    """Decode, parse and inspect one submission (no mypy yet)."""
    report = StaticReport()
    if len(source) > MAX_SOURCE_BYTES:
        return _fatal(
            report, "too_large", f"the file is {len(source)} bytes, over the limit"
        )
    if not source.strip():
        return _fatal(report, "empty", "the file is empty")
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source[: exc.start].count(b"\n") + 1
        return _fatal(
            report,
            "encoding",
            f"the file is not valid UTF-8 (byte {exc.start}, line {line}); "
            "save it as UTF-8",
        )
    report.text = text
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        return _fatal(report, "syntax", f"syntax error at {where}: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return _fatal(
            report, "syntax", f"the file cannot be parsed: {type(exc).__name__}"
        )
    _inspect_functions(tree, report)
    _check_black(text, report)
    return report


def _fatal(report: StaticReport, kind: str, message: str) -> StaticReport:
    report.fatal, report.fatal_kind = message, kind
    return report


def _inspect_functions(tree: ast.Module, report: StaticReport) -> None:
    defs = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    for canonical, aliases in FUNCTION_ALIASES.items():
        alias = next((a for a in aliases if a in defs), None)
        if alias is None:
            continue
        report.defined[canonical] = alias
        node = defs[alias]
        arguments = node.args
        params = [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            *[a for a in (arguments.vararg, arguments.kwarg) if a is not None],
        ]
        missing = [f"parameter `{p.arg}`" for p in params if p.annotation is None]
        if node.returns is None:
            missing.append("the return value")
        report.unannotated[canonical] = missing


def _check_black(text: str, report: StaticReport) -> None:
    import black
    from black.mode import Mode, TargetVersion

    try:
        formatted = black.format_str(
            text, mode=Mode(target_versions={TargetVersion.PY310})
        )
    except Exception as exc:  # black's own parser may reject odd but valid code
        report.black_note = f"black could not format the file ({type(exc).__name__})"
        return
    report.black_clean = formatted == text
    if not report.black_clean:
        changed = sum(
            1 for a, b in zip(text.splitlines(), formatted.splitlines()) if a != b
        )
        report.black_note = (
            f"black would reformat the file (about {max(changed, 1)} lines differ); "
            "run `black mhsa.py`"
        )


def strip_silencers(text: str) -> str:
    """Remove comments that would silence mypy, keeping every line number."""
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


def run_mypy(
    texts: dict[str, str], cache_dir: Path, timeout: float = 300
) -> dict[str, list[str]]:
    """Type-check many submissions in one mypy run; key -> error lines (``line N: msg``).

    Keys missing from the result could not be checked (mypy crashed or timed out).
    """
    if not texts:
        return {}
    with tempfile.TemporaryDirectory(prefix="mhsa-mypy-") as folder:
        names = {}
        for index, (key, text) in enumerate(texts.items()):
            name = f"submission_{index}.py"
            (Path(folder) / name).write_text(strip_silencers(text), encoding="utf-8")
            names[name] = key
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(MYPY_CONFIG),
            "--cache-dir",
            str(cache_dir),
            "--no-error-summary",
            "--no-pretty",
            "--show-error-codes",
            "--no-color-output",
            *sorted(names),
        ]
        try:
            done = subprocess.run(
                command,
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {}
        if done.returncode not in (0, 1):
            if len(texts) == 1:
                return {}
            return _one_by_one(texts, cache_dir, timeout)
        errors: dict[str, list[str]] = {key: [] for key in texts}
        for line in done.stdout.splitlines():
            match = MYPY_LINE.match(line)
            if match and match["kind"] == "error" and match["file"] in names:
                errors[names[match["file"]]].append(
                    f"line {match['line']}: {match['msg']}"
                )
        return errors


def _one_by_one(
    texts: dict[str, str], cache_dir: Path, timeout: float
) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, text in texts.items():
        result.update(run_mypy({key: text}, cache_dir, timeout))
    return result


def typing_problems(report: StaticReport) -> list[str]:
    """Why the typing item is not earned; empty when it is (gating aside)."""
    if report.fatal:
        return [f"not checked: {report.fatal}"]
    problems = []
    for canonical in FUNCTION_ALIASES:
        if canonical not in report.defined:
            problems.append(f"`{canonical}` is not defined with `def` at the top level")
            continue
        missing = report.unannotated.get(canonical, [])
        if missing:
            name = report.defined[canonical]
            problems.append(
                f"`{name}` lacks type annotations on {', '.join(missing)} (annotate "
                "every parameter and the return, e.g. `Q: np.ndarray` and `-> np.ndarray`)"
            )
    if report.mypy_errors is None:
        problems.append("mypy could not check the file")
    elif report.mypy_errors:
        shown = report.mypy_errors[:5]
        more = len(report.mypy_errors) - len(shown)
        problems.append(
            "mypy reports a type error (run `mypy mhsa.py` to see it): "
            + "; ".join(shown)
            + (f" (and {more} more)" if more else "")
        )
    return problems
