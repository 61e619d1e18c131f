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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autograder.config import MYPY_CONFIG, Limits
from autograder.confine.untrusted import safe_text
from autograder.contract.silencers import strip_silencers
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
            preexec_fn=lambda: tool_limits(self.limits.static_memory_bytes),
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
