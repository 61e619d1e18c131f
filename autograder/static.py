"""Checks that need no execution: reading, parsing, names, annotations, mypy, black.

Everything here treats the submission as text. mypy runs in a subprocess (one invocation
for a whole batch when possible) on a copy whose ``# type: ignore`` and ``# mypy:``
comments are removed, so a submission cannot silence the checker it is graded by.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import io
import re
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autograder.config import FUNCTION_ALIASES, MYPY_CONFIG
from autograder.source_text import SourceDecodeError, decode_source, line_ref

MAX_SOURCE_BYTES = 512 << 10
MYPY_LOCK_NAME = "grader.lock"  # in the cache folder: one mypy at a time uses it
MYPY_LOCK_WAIT = 120.0  # seconds a batch waits for another batch's mypy to finish
SILENCING_COMMENT = re.compile(r"type:\s*ignore|mypy\s*:", re.IGNORECASE)
PER_FILE_MYPY_SECONDS = 60.0
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


def read_submission(source: bytes, black: bool = True) -> StaticReport:
    """Decode, parse and inspect one submission (no mypy yet).

    ``black=False`` leaves the formatting check to ``check_black``, so a batch can run it
    while mypy works in its own process.
    """
    report = StaticReport()
    if len(source) > MAX_SOURCE_BYTES:
        return _fatal(
            report, "too_large", f"the file is {len(source)} bytes, over the limit"
        )
    if not source.strip():
        return _fatal(report, "empty", "the file is empty")
    try:
        text = decode_source(source)
    except SourceDecodeError as exc:
        return _fatal(report, "encoding", str(exc))
    report.text = text
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        line = exc.lineno or 0
        where = line_ref(line) + (f", column {exc.offset}" if exc.offset else "")
        return _fatal(report, "syntax", f"syntax error at {where}: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return _fatal(
            report, "syntax", f"the file cannot be parsed: {type(exc).__name__}"
        )
    _inspect_functions(tree, report)
    if black:
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


def check_black(report: StaticReport) -> None:
    """Record whether black would reformat a parsed submission (no-op for a fatal one)."""
    if report.fatal is None:
        _check_black(report.text, report)


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
    return MypyRun(texts, cache_dir, timeout).result()


class MypyRun:
    """One mypy process over many submissions, started now and collected by ``result()``.

    The grader does other work (black, worker start-up) while mypy runs on another core.
    Files are named by a hash of their text, so regrading the same class (in any order)
    finds every file in mypy's cache. Only one mypy at a time uses ``cache_dir``: its
    SQLite cache is shared by every batch of this checkout, so concurrent batches take
    turns through an exclusive lock, and after ``lock_wait`` seconds of waiting a batch
    checks with a private, cold cache instead. mypy itself gets ``timeout`` seconds.
    """

    def __init__(
        self,
        texts: dict[str, str],
        cache_dir: Path,
        timeout: float = 300,
        lock_wait: float = MYPY_LOCK_WAIT,
    ) -> None:
        self.texts, self.cache_dir, self.timeout = texts, cache_dir, timeout
        self.lock_wait = lock_wait
        self.deadline = time.monotonic() + timeout
        self.names: dict[str, list[str]] = {}  # file name -> keys with that text
        self.process: subprocess.Popen[str] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._lock: IO[bytes] | None = None
        if texts:
            self._start()

    def _start(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="mhsa-mypy-")
        folder = Path(self._folder.name)
        for key, text in self.texts.items():
            checked = strip_silencers(text)
            digest = hashlib.sha256(
                checked.encode("utf-8", "surrogatepass")
            ).hexdigest()
            name = f"submission_{digest[:20]}.py"
            if name not in self.names:
                (folder / name).write_text(checked, encoding="utf-8")
            self.names.setdefault(name, []).append(key)
        cache = self._locked_cache(folder)
        self.deadline = time.monotonic() + self.timeout  # from mypy's start
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(MYPY_CONFIG),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--no-pretty",
            "--show-error-codes",
            "--no-color-output",
            *sorted(self.names),
        ]
        self.process = subprocess.Popen(
            command,
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _locked_cache(self, folder: Path) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.cache_dir / MYPY_LOCK_NAME).open("a+b")
        give_up = time.monotonic() + self.lock_wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() < give_up:
                    time.sleep(0.05)
                    continue
                lock.close()
                return folder / ".mypy_cache"
            self._lock = lock
            return self.cache_dir

    def result(self) -> dict[str, list[str]]:
        """Wait for mypy and parse its report; releases the cache and the files."""
        try:
            return self._collect()
        finally:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self._lock is not None:
                self._lock.close()  # closing releases the flock
                self._lock = None
            if self._folder is not None:
                self._folder.cleanup()
                self._folder = None

    def _collect(self) -> dict[str, list[str]]:
        if self.process is None:
            return {}
        try:
            stdout, _ = self.process.communicate(
                timeout=max(self.deadline - time.monotonic(), 1.0)
            )
        except subprocess.TimeoutExpired:
            # One pathological file must not cost the whole class its typing point:
            # check the files one by one, each with its own deadline.
            self.process.kill()
            self.process.wait()
            if len(self.texts) == 1:
                return {}
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            return _one_by_one(self.texts, self.cache_dir, PER_FILE_MYPY_SECONDS)
        if self.process.returncode not in (0, 1):
            if len(self.texts) == 1:
                return {}
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            return _one_by_one(self.texts, self.cache_dir, self.timeout)
        errors: dict[str, list[str]] = {key: [] for key in self.texts}
        for line in stdout.splitlines():
            match = MYPY_LINE.match(line)
            if match and match["kind"] == "error" and match["file"] in self.names:
                for key in self.names[match["file"]]:
                    errors[key].append(f"line {match['line']}: {match['msg']}")
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
        shown = [_located(error) for error in report.mypy_errors[:5]]
        more = len(report.mypy_errors) - len(shown)
        problems.append(
            "mypy reports a type error (run `mypy mhsa.py` to see it): "
            + "; ".join(shown)
            + (f" (and {more} more)" if more else "")
        )
    return problems


def _located(mypy_error: str) -> str:
    """A stored ``line N: message`` with the line named as feedback names lines."""
    line, _, message = mypy_error.partition(": ")
    number = line.removeprefix("line ")
    return f"{line_ref(int(number))}: {message}" if number.isdigit() else mypy_error
