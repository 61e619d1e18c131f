"""mypy, outside the grader's process: one mypy process checks the whole batch, watched file
by file through its log; a file on which it exceeds a limit (``Limits.mypy_seconds``,
``static_memory_bytes``) is left unchecked with the reason while the others are checked
again without it, so such a file delays the batch by at most that limit.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autograder.config import MYPY_CONFIG, Limits
from autograder.confine.linux import cpu_seconds_of
from autograder.confine.untrusted import safe_text
from autograder.contract.silencers import strip_silencers
from autograder.static.answers import AnswerCache
from autograder.static.report import StaticReport
from autograder.static.tools import TOOL_START_SECONDS, tool_limits

MYPY_LOCK_NAME = "grader.lock"  # in the cache folder: one mypy at a time uses it
MYPY_LOCK_WAIT = 120.0  # seconds a batch waits for another batch's mypy to finish
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


def mypy_answers(folder: Path) -> AnswerCache:
    """mypy's verdicts kept in ``folder``: for this mypy, numpy (its stubs), the students'
    mypy settings and this module's reading of mypy's output."""
    return AnswerCache(folder, ("mypy", "numpy"), (MYPY_CONFIG, Path(__file__)))


def run_mypy(
    texts: dict[str, str], cache_dir: Path, limits: Limits | None = None
) -> dict[str, list[str]]:
    """Type-check many submissions in one mypy run; key -> error lines (``line N: msg``).

    Keys missing from the result got no verdict (see ``MypyRun.failures``).
    """
    return MypyRun(texts, cache_dir, limits).result()


# A mypy that outputs nothing for this many times its CPU limit, in wall time, is killed
# even when it uses no CPU (it never should: it reads only the files it was given).
STALL_FACTOR = 10


def cpu_clock(pid: int) -> Callable[[], float]:
    """A clock that reads process ``pid``'s CPU seconds: the watch's limits count mypy's
    own work, so a busy machine slows it without making it look stuck. Once the process
    is gone the clock stops at its last reading."""
    last = [0.0]

    def read() -> float:
        used = cpu_seconds_of(pid)
        if used is not None:
            last[0] = used
        return last[0]

    return read


@dataclass
class _Round:
    """What one mypy process said before it ended, read from its output as it came."""

    errors: dict[str, list[str]] = field(default_factory=dict)  # module -> errors
    written: set[str] = field(default_factory=set)  # its interface is done
    finished: set[str] = field(default_factory=set)  # its messages came out: all done
    scheduled: list[str] = field(default_factory=list)
    parsing: str | None = None
    # mypy's own CPU seconds (a loaded machine slows it but never makes it look stuck)
    clock: Callable[[], float] = time.monotonic
    since: float = 0.0  # when the current file began, on ``clock``
    heard: float = 0.0  # last output of any kind, on ``clock``
    heard_wall: float = field(default_factory=time.monotonic)  # the same, wall clock
    memory: bool = False  # it raised MemoryError
    done: bool = False  # it said the build finished (an exit code alone proves nothing)
    # module -> the line of its appended marker, whose note is the file's last message
    # (mypy writes a file's messages together, sorted by line, once the file is checked)
    marker_lines: dict[str, int] = field(default_factory=dict)
    on_checked: Callable[[str, list[str]], None] | None = None

    def __post_init__(self) -> None:
        self.since = self.heard = self.clock()

    def current(self) -> str | None:
        """The file mypy is working on: one whose interface is written but whose messages
        have not come out (its bodies are being checked), else the first scheduled one not
        written yet (its interface is), else the one it is parsing."""
        bodies = self.written - self.finished  # once: it is asked after every read
        checking = next((m for m in self.scheduled if m in bodies), None)
        if checking is not None:
            return checking
        if self.scheduled:
            return next((m for m in self.scheduled if m not in self.written), None)
        return self.parsing

    def hear(self, stream: str, line: str, now: float) -> None:
        """Take one line of mypy's output, read at ``now`` on ``clock`` (the watch reads
        the clock once for all the lines of one wake)."""
        self.heard = now
        self.heard_wall = time.monotonic()
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
                elif self.on_checked is not None and self.marker_lines.get(
                    module
                ) == int(match["line"]):
                    self.on_checked(module, self.errors.get(module, []))
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

    ``on_settled`` (called in that thread) receives each key once, as soon as its verdict
    (or the reason for having none) is final, while mypy goes on with the other files: a
    batch starts grading a file without waiting for the whole class to be checked.
    """

    def __init__(
        self,
        texts: dict[str, str],
        cache_dir: Path,
        limits: Limits | None = None,
        lock_wait: float = MYPY_LOCK_WAIT,
        on_settled: Callable[[str], None] | None = None,
        answers: AnswerCache | None = None,
    ) -> None:
        self.texts, self.cache_dir = texts, cache_dir
        self.answers = answers
        self.limits = limits or Limits()
        self.lock_wait = lock_wait
        self.names: dict[str, list[str]] = {}  # module -> keys with that text
        self.verdicts: dict[str, list[str]] = {}  # module -> errors
        self.failures: dict[str, tuple[str, bool]] = {}  # key -> (why, grader's fault)
        self._on_settled = on_settled
        self._modules: dict[str, str] = {}  # key -> module
        self._marker_lines: dict[str, int] = {}  # module -> line of its marker
        self._checked_texts: dict[str, str] = {}  # module -> the text mypy checks
        self._announced: set[str] = set()  # modules whose keys were announced
        self.process: subprocess.Popen[bytes] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._lock: IO[bytes] | None = None
        self._thread: threading.Thread | None = None
        if texts:
            self._start()

    def _start(self) -> None:
        for key, text in self.texts.items():
            checked = strip_silencers(text) + DONE_MARKER
            digest = hashlib.sha256(
                checked.encode("utf-8", "surrogatepass")
            ).hexdigest()
            module = f"submission_{digest[:20]}"
            self._checked_texts[module] = checked
            self.names.setdefault(module, []).append(key)
            self._modules[key] = module
        for module, checked in self._checked_texts.items():
            kept = self.answers.get(checked) if self.answers is not None else None
            if isinstance(kept, list) and all(isinstance(e, str) for e in kept):
                self.verdicts[module] = kept  # mypy said so before: no mypy for it
                self._announce(module)
        unchecked = [m for m in self._checked_texts if m not in self.verdicts]
        if not unchecked:
            return
        self._folder = tempfile.TemporaryDirectory(prefix="mhsa-mypy-")
        folder = Path(self._folder.name)
        for module in unchecked:
            checked = self._checked_texts[module]
            (folder / f"{module}.py").write_bytes(
                checked.encode("utf-8", "surrogatepass")
            )
            self._marker_lines[module] = checked.count("\n")
        cache = self._locked_cache(folder)
        self._thread = threading.Thread(
            target=self._check_all, args=(folder, cache), daemon=True
        )
        self._thread.start()
        while self.process is None and self._thread.is_alive():
            time.sleep(0.001)  # the first mypy process exists when this returns

    def _check_all(self, folder: Path, cache: Path) -> None:
        """Rounds of mypy until every file has a verdict or a reason for having none."""
        try:
            self._rounds(folder, cache)
        finally:  # whatever happened, every key is announced
            for module in self.names:
                self._announce(module)

    def _announce(self, module: str) -> None:
        if module not in self._announced:
            self._announced.add(module)
            for key in self.names[module]:
                if self._on_settled is not None:
                    self._on_settled(key)

    def _checked(self, module: str, errors: list[str]) -> None:
        """mypy printed the file's last message: its verdict is final."""
        if module in self.names and module not in self.verdicts:
            self._settle(module, errors)

    def _settle(self, module: str, errors: list[str]) -> None:
        """Record and keep mypy's final verdict on ``module``, and announce it."""
        self.verdicts[module] = list(errors)
        if self.answers is not None:
            self.answers.put(self._checked_texts[module], self.verdicts[module])
        self._announce(module)

    def _rounds(self, folder: Path, cache: Path) -> None:
        pending = sorted(self._marker_lines)  # the modules no kept answer settled
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
                f"{self.limits.mypy_seconds:g} s of CPU time"
            )
            self._fail(culprit, why, False)
            pending = [m for m in left if m != culprit]

    def _fail(self, module: str, why: str, fault: bool) -> None:
        for key in self.names[module]:
            self.failures[key] = (why, fault)
        self._announce(module)

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
            preexec_fn=lambda: tool_limits(self.limits.static_memory_bytes),
        )
        self.process = process
        heard = _Round(
            marker_lines=self._marker_lines,
            on_checked=self._checked,
            clock=cpu_clock(process.pid),
        )
        self._listen(process, heard)
        finished = heard.done and process.returncode in (0, 1)
        for module in modules:
            if (finished or module in heard.finished) and module not in self.verdicts:
                self._settle(module, heard.errors.get(module, []))
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
            started = heard.clock()
            while selector.get_map():
                came: list[tuple[str, bytes]] = []
                for key, _ in selector.select(timeout=0.2):
                    fd = key.fd
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        selector.unregister(fd)
                        chunk = b"\n"  # the last line, if it lacked its newline
                    *lines, partial[fd] = (partial[fd] + chunk).split(b"\n")
                    came.extend((names[fd], line) for line in lines)
                now = heard.clock()  # one /proc read per wake, not one per line
                for stream, line in came:
                    heard.hear(stream, line.decode("utf-8", "replace"), now)
                limit = self.limits.mypy_seconds
                working = heard.current() is not None
                warming = now - started < TOOL_START_SECONDS and not working
                stuck = working and now - heard.since > limit
                silent = now - heard.heard > limit and not warming
                # Asleep rather than working (it should never be): a wall-clock backstop.
                stalled = time.monotonic() - heard.heard_wall > limit * STALL_FACTOR
                if (stuck or silent or stalled) and process.poll() is None:
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
        self.result()
        for key in self.texts:
            self.record_one(key, reports[key])

    def record_one(self, key: str, report: StaticReport) -> None:
        """Give ``report`` the verdict of ``key`` (once it has settled), or the reason it
        has none."""
        verdict = self.verdicts.get(self._modules[key])
        report.mypy_errors = None if verdict is None else list(verdict)
        if verdict is None:
            why, fault = self.failures.get(key, ("mypy could not check the file", True))
            report.mypy_note, report.mypy_fault = why, fault
