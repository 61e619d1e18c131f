"""Checks that need no execution: reading, parsing, names, annotations, mypy, black.

Everything here treats the submission as text; the grader's own process only decodes and
parses it. black and mypy, whose running time and memory a crafted file can blow up, run
in their own processes under a time and a memory limit (``Limits.black_seconds``,
``mypy_seconds``, ``static_memory_bytes``): one black worker per batch formats the files
in turn, each under a deadline, and is replaced when a file exceeds it; one mypy process
checks the whole batch, watched file by file through its log, and a file on which it
exceeds a limit is left unchecked with the reason while the others are checked again
without it. A file that exceeds a limit delays the batch by at most that limit.

mypy reads a copy of each file in which every ``# type: ignore`` and ``# mypy:`` is
neutralised, wherever it stands, so a submission cannot silence the checker it is graded by.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from autograder.config import MYPY_CONFIG, PACKAGE_DIR, Limits
from autograder.confine.channel import (
    ChannelClosed,
    ChannelTimeout,
    ProtocolViolation,
    read_header,
    write_frame,
)
from autograder.confine.untrusted import safe_text
from autograder.contract.functions import FUNCTION_ALIASES
from autograder.contract.source_text import SourceDecodeError, decode_source, line_ref

MAX_SOURCE_BYTES = 512 << 10
MYPY_LOCK_NAME = "grader.lock"  # in the cache folder: one mypy at a time uses it
MYPY_LOCK_WAIT = 120.0  # seconds a batch waits for another batch's mypy to finish
# Anything mypy could take for a silencer, in a comment or not (a string's text may change,
# its type does not); what is left stays a comment, and every line keeps its number.
SILENCER = re.compile(
    r"#[^\S\n]*(type[^\S\n]*:[^\S\n]*ignore|mypy[^\S\n]*:)", re.IGNORECASE
)
SILENCER_LEFT = "# (silencer removed)"
NO_TYPE_CHECK = frozenset({"no_type_check", "no_type_check_decorator"})
MYPY_LINE = re.compile(
    r"^(?P<file>[^:]+\.py):(?P<line>\d+): (?P<kind>error|note): (?P<msg>.*)$"
)
# mypy -v names each module as it parses it, schedules it and writes its interface to the
# cache; its function bodies are checked after that, and its messages come out when that
# is done. A line appended to every file makes each file say something when it is done.
MYPY_PARSING = re.compile(r"^LOG: +Parsing \S+ \((?P<module>submission_\w+)\)")
MYPY_SCHEDULED = re.compile(
    r"^LOG: +Scheduling SCC singleton \((?P<module>submission_\w+)\)"
)
MYPY_WRITTEN = re.compile(r"^LOG: +Writing (?P<module>submission_\w+) ")
MYPY_DONE = re.compile(r"^LOG: +Build finished ")
DONE_MARKER = (
    "\nreveal_type(0)  # the grader's: mypy notes this when the file is checked\n"
)
BLACK_WORKER = PACKAGE_DIR / "static" / "black_worker.py"
TOOL_START_SECONDS = (
    60.0  # for a tool to start (imports, a cold cache), before any file
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
    mypy_errors: list[str] | None = None  # None: mypy gave no verdict
    mypy_note: str = ""  # why not, when mypy gave no verdict on this file
    mypy_fault: bool = False  # mypy gave no verdict for a reason of the grader's
    silenced: list[str] = field(default_factory=list)  # ways the file turns mypy off
    black_clean: bool | None = None  # None: not checked (black_note says why)
    black_note: str = ""
    file_name: str = "mhsa.py"  # as the student named it, for advice

    @property
    def annotations_complete(self) -> bool:
        """Every graded function exists as a def and annotates everything."""
        return len(self.defined) == len(FUNCTION_ALIASES) and not any(
            self.unannotated.values()
        )


def read_submission(
    source: bytes, black: bool = True, file_name: str = "mhsa.py"
) -> StaticReport:
    """Decode, parse and inspect one submission (no mypy yet).

    ``black=False`` leaves the formatting check to a batch's ``BlackRun``, which runs it
    while mypy works in its own process; ``black=True`` starts a worker for this file.
    """
    report = StaticReport(file_name=safe_text(Path(file_name).name, 100))
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
        message = safe_text(str(exc.msg), 300)  # it may quote the file's characters
        return _fatal(report, "syntax", f"syntax error at {where}: {message}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return _fatal(
            report, "syntax", f"the file cannot be parsed: {type(exc).__name__}"
        )
    _inspect_functions(tree, report)
    if black:
        with BlackRun(Limits()) as run:
            run.check(report)
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
    names = {
        getattr(node, attribute)
        for node in ast.walk(tree)
        for attribute in ("id", "attr", "name")
        if isinstance(getattr(node, attribute, None), str)
    }
    report.silenced = sorted(NO_TYPE_CHECK & names)


def strip_silencers(text: str) -> str:
    """``text`` with every mypy silencer neutralised, on the very lines mypy reads.

    ``text`` comes from ``decode_source`` (``\\n`` line endings only). The removal works on
    characters, not on a tokenizer's idea of lines, so form feeds, CR, U+2028 or a
    ``# mypy:`` inside a string cannot move a silencer out of its reach; nothing it writes
    holds a newline, so every line keeps its number.
    """
    return SILENCER.sub(SILENCER_LEFT, text)


def _tool_limits(memory_bytes: int) -> None:
    """In a forked tool process before exec: a memory cap, no core file, death with us."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class BlackRun:
    """One black worker process for a batch, checking files in turn under a deadline each.

    A file black does not finish within ``limits.black_seconds`` (or that makes it exceed
    ``limits.static_memory_bytes``) gets "formatting not checked" with the reason; its worker
    is killed and the next file gets a fresh one. Use as a context manager.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.process: subprocess.Popen[bytes] | None = None
        self.fault = ""  # set when the worker cannot start at all

    def __enter__(self) -> BlackRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", BLACK_WORKER.read_text()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _tool_limits(self.limits.static_memory_bytes),
        )
        assert process.stdin is not None and process.stdout is not None
        os.set_blocking(process.stdin.fileno(), False)
        ready = self._answer(process, time.monotonic() + TOOL_START_SECONDS)
        if ready.get("ready") is not True:
            self._kill(process)
            raise ProtocolViolation("black's worker did not start")
        return process

    @staticmethod
    def _answer(process: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
        assert process.stdout is not None
        return read_header(process.stdout.fileno(), deadline, 1 << 16)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def check(self, report: StaticReport) -> None:
        """Record whether black would reformat ``report``'s file (no-op for a fatal one)."""
        if report.fatal is not None:
            return
        if self.fault:
            report.black_note = f"formatting not checked: {self.fault}"
            return
        try:
            if self.process is None:
                self.process = self._start()
        except (OSError, ProtocolViolation, ChannelTimeout, ChannelClosed):
            self.fault = "black could not be started (a problem of the grader's)"
            report.black_note = f"formatting not checked: {self.fault}"
            return
        process = self.process
        assert process.stdin is not None
        deadline = time.monotonic() + self.limits.black_seconds
        try:
            write_frame(process.stdin.fileno(), {"text": report.text}, [], deadline)
            answer = self._answer(process, deadline)
        except ChannelTimeout:
            self._replace()
            report.black_note = (
                f"formatting not checked: black did not finish within "
                f"{self.limits.black_seconds:g} s on this file"
            )
            return
        except (ChannelClosed, ProtocolViolation):
            self._replace()
            report.black_note = (
                "formatting not checked: black stopped on this file (it needs more than "
                f"{self.limits.static_memory_bytes >> 20} MiB of memory, or crashed)"
            )
            return
        _record_black(report, answer)

    def _replace(self) -> None:
        """Kill the worker; the next file starts a fresh one."""
        if self.process is not None:
            self._kill(self.process)
            self.process = None

    def close(self) -> None:
        """End the worker."""
        self._replace()


def _record_black(report: StaticReport, answer: dict[str, Any]) -> None:
    if isinstance(answer.get("error"), str):
        report.black_note = f"black could not format the file ({answer['error']})"
        return
    report.black_clean = answer.get("unchanged") is True
    if not report.black_clean:
        changed = answer.get("changed")
        lines = changed if type(changed) is int and changed > 0 else 1
        report.black_note = (
            f"black would reformat the file (about {lines} lines differ); "
            f"run `black {_shown(report.file_name)}`"
        )


def _shown(file_name: str) -> str:
    """The student's file name, fit for a code span in advice."""
    return file_name.replace("`", "'") or "mhsa.py"


def run_mypy(
    texts: dict[str, str], cache_dir: Path, limits: Limits | None = None
) -> dict[str, list[str]]:
    """Type-check many submissions in one mypy run; key -> error lines (``line N: msg``).

    Keys missing from the result got no verdict (see ``MypyRun.failures``).
    """
    return MypyRun(texts, cache_dir, limits).result()


@dataclass
class _Round:
    """What one mypy process said before it ended, read from its output as it came."""

    errors: dict[str, list[str]] = field(default_factory=dict)  # module -> errors
    written: set[str] = field(default_factory=set)  # its interface is done
    finished: set[str] = field(default_factory=set)  # its messages came out: all done
    scheduled: list[str] = field(default_factory=list)
    parsing: str | None = None
    since: float = field(default_factory=time.monotonic)  # when the current file began
    heard: float = field(default_factory=time.monotonic)  # last output of any kind
    memory: bool = False  # it raised MemoryError
    done: bool = False  # it said the build finished (an exit code alone proves nothing)

    def current(self) -> str | None:
        """The file mypy is working on: one whose interface is written but whose messages
        have not come out (its bodies are being checked), else the first scheduled one not
        written yet (its interface is), else the one it is parsing."""
        checking = [m for m in self.scheduled if m in self.written - self.finished]
        if checking:
            return checking[0]
        if self.scheduled:
            return next((m for m in self.scheduled if m not in self.written), None)
        return self.parsing

    def hear(self, stream: str, line: str) -> None:
        now = time.monotonic()
        self.heard = now
        if stream == "stdout":
            match = MYPY_LINE.match(line)
            if match:
                module = match["file"].removesuffix(".py")
                if module not in self.finished:
                    self.finished.add(module)
                    self.since = now
                if match["kind"] == "error":
                    self.errors.setdefault(module, []).append(
                        f"line {match['line']}: {safe_text(match['msg'], 500)}"
                    )
            return
        if "MemoryError" in line:
            self.memory = True
        if MYPY_DONE.match(line):
            self.done = True
        self.parsing = None  # any line after "Parsing X" means X is parsed
        for pattern in (MYPY_PARSING, MYPY_SCHEDULED, MYPY_WRITTEN):
            found = pattern.match(line)
            if found is None:
                continue
            module = found["module"]
            if pattern is MYPY_PARSING:
                self.parsing, self.since = module, now
            elif pattern is MYPY_SCHEDULED:
                self.scheduled.append(module)
                self.since = now
            else:
                self.written.add(module)
                self.since = now


class MypyRun:
    """One mypy process over many submissions, started now and collected by ``result()``.

    The grader does other work (black, worker start-up) while mypy runs on another core.
    Files are named by a hash of their text, so regrading the same class (in any order)
    finds every file in mypy's cache. Only one mypy at a time uses ``cache_dir``: its
    cache is shared by every batch of this checkout, so concurrent batches take turns
    through an exclusive lock, and after ``lock_wait`` seconds of waiting a batch checks
    with a private, cold cache instead.

    A thread watches mypy's verbose log: a file it works on for longer than
    ``limits.mypy_seconds``, or on which it runs out of memory, gets no verdict (with the
    reason, in ``failures``) and mypy is run again on the files it had not finished.
    """

    def __init__(
        self,
        texts: dict[str, str],
        cache_dir: Path,
        limits: Limits | None = None,
        lock_wait: float = MYPY_LOCK_WAIT,
    ) -> None:
        self.texts, self.cache_dir = texts, cache_dir
        self.limits = limits or Limits()
        self.lock_wait = lock_wait
        self.names: dict[str, list[str]] = {}  # module -> keys with that text
        self.verdicts: dict[str, list[str]] = {}  # module -> errors
        self.failures: dict[str, tuple[str, bool]] = {}  # key -> (why, grader's fault)
        self.process: subprocess.Popen[bytes] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._lock: IO[bytes] | None = None
        self._thread: threading.Thread | None = None
        if texts:
            self._start()

    def _start(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="mhsa-mypy-")
        folder = Path(self._folder.name)
        for key, text in self.texts.items():
            checked = strip_silencers(text) + DONE_MARKER
            digest = hashlib.sha256(
                checked.encode("utf-8", "surrogatepass")
            ).hexdigest()
            module = f"submission_{digest[:20]}"
            if module not in self.names:
                (folder / f"{module}.py").write_bytes(
                    checked.encode("utf-8", "surrogatepass")
                )
            self.names.setdefault(module, []).append(key)
        cache = self._locked_cache(folder)
        self._thread = threading.Thread(
            target=self._check_all, args=(folder, cache), daemon=True
        )
        self._thread.start()
        while self.process is None and self._thread.is_alive():
            time.sleep(0.001)  # the first mypy process exists when this returns

    def _check_all(self, folder: Path, cache: Path) -> None:
        """Rounds of mypy until every file has a verdict or a reason for having none."""
        pending = sorted(self.names)
        while pending:
            heard = self._round(folder, cache, pending)
            left = [m for m in pending if m not in self.verdicts]
            culprit = heard.current()
            if not left:
                return
            if culprit is None or culprit not in left:
                for module in left:  # no file to blame: a problem of the grader's
                    self._fail(
                        module, "mypy could not run (a problem of the grader's)", True
                    )
                return
            why = (
                f"mypy needed more than {self.limits.static_memory_bytes >> 20} MiB "
                "of memory on this file"
                if heard.memory
                else f"mypy did not finish checking this file within "
                f"{self.limits.mypy_seconds:g} s"
            )
            self._fail(culprit, why, False)
            pending = [m for m in left if m != culprit]

    def _fail(self, module: str, why: str, fault: bool) -> None:
        for key in self.names[module]:
            self.failures[key] = (why, fault)

    def _round(self, folder: Path, cache: Path, modules: list[str]) -> _Round:
        """One mypy process over ``modules``; verdicts for those it finished."""
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
            "--verbose",
            *(f"{module}.py" for module in modules),
        ]
        process = subprocess.Popen(
            command,
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=lambda: _tool_limits(self.limits.static_memory_bytes),
        )
        self.process = process
        heard = _Round()
        self._listen(process, heard)
        finished = heard.done and process.returncode in (0, 1)
        for module in modules:
            if finished or module in heard.finished:
                self.verdicts[module] = heard.errors.get(module, [])
        return heard

    def _listen(self, process: subprocess.Popen[bytes], heard: _Round) -> None:
        """Read mypy's output until it ends; kill it when a file or silence lasts too long.

        Raw reads, split into lines here: a buffered reader could hold a line back while
        select waits, and the watch would then blame the wrong file.
        """
        assert process.stdout is not None and process.stderr is not None
        names = {process.stdout.fileno(): "stdout", process.stderr.fileno(): "stderr"}
        partial = {fd: b"" for fd in names}
        with selectors.DefaultSelector() as selector:
            for fd in names:
                selector.register(fd, selectors.EVENT_READ)
            started = time.monotonic()
            while selector.get_map():
                for key, _ in selector.select(timeout=0.2):
                    fd = key.fd
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        selector.unregister(fd)
                        chunk = b"\n"  # the last line, if it lacked its newline
                    *lines, partial[fd] = (partial[fd] + chunk).split(b"\n")
                    for line in lines:
                        heard.hear(names[fd], line.decode("utf-8", "replace"))
                now = time.monotonic()
                limit = self.limits.mypy_seconds
                warming = now - started < TOOL_START_SECONDS and heard.current() is None
                stuck = heard.current() is not None and now - heard.since > limit
                silent = now - heard.heard > limit and not warming
                if (stuck or silent) and process.poll() is None:
                    process.kill()
        process.wait()

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
        """Wait for mypy and give each checked key its errors; releases the cache."""
        try:
            if self._thread is not None:
                self._thread.join()
            return {
                key: self.verdicts[module]
                for module, keys in self.names.items()
                if module in self.verdicts
                for key in keys
            }
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

    def record(self, reports: dict[str, StaticReport]) -> None:
        """Give each report its verdict, or the reason it has none."""
        checked = self.result()
        for key in self.texts:
            reports[key].mypy_errors = checked.get(key)
            why, fault = self.failures.get(key, ("mypy could not check the file", True))
            if key not in checked:
                reports[key].mypy_note, reports[key].mypy_fault = why, fault


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
    if report.silenced:
        problems.append(
            f"your file uses `@{report.silenced[0]}`, which turns mypy off: remove it"
        )
    if report.mypy_errors is None:
        problems.append(report.mypy_note or "mypy could not check the file")
    elif report.mypy_errors:
        shown = [_located(error) for error in report.mypy_errors[:5]]
        more = len(report.mypy_errors) - len(shown)
        problems.append(
            f"mypy reports a type error (run `mypy {_shown(report.file_name)}` to see it): "
            + "; ".join(shown)
            + (f" (and {more} more)" if more else "")
        )
    return problems


def _located(mypy_error: str) -> str:
    """A stored ``line N: message`` with the line named as feedback names lines."""
    line, _, message = mypy_error.partition(": ")
    number = line.removeprefix("line ")
    return f"{line_ref(int(number))}: {message}" if number.isdigit() else mypy_error
