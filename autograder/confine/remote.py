"""Call a submission's functions in its confined child and get back typed outcomes.

One child serves every case of a submission. A call that times out, crashes or breaks the
protocol kills the child's whole tree; the next call starts a fresh child. A function that
hung once, or crashed (or sent an unreadable reply) twice, is not called again, so a hang
costs one deadline and a crash two restarts, not one per case.

Every value read from the child is checked against what the grader asked for before it
becomes an outcome: a count must be the function's own (else it is "not the expected
kind"), a line must exist in the submitted file, an index of a modified argument must name
an array the grader sent, an exception's type is kept only when it is a built-in or numpy
name, a function's name only when the file defines it. Messages about timeouts, crashes and
refused replies are fixed sentences: nothing a submission controls (its timing, exit code
or forged numbers) reaches them.
"""

from __future__ import annotations

import builtins
import re
import signal
import time
from dataclasses import dataclass, field

import numpy as np

from autograder.config import Limits
from autograder.confine.channel import (
    ChannelClosed,
    ChannelTimeout,
    ProtocolViolation,
    parse_meta,
    read_arrays,
    read_header,
    write_frame,
)
from autograder.confine.probe import detect_confinement
from autograder.confine.process import ConfinedProcess
from autograder.confine.uid import new_sandbox_uid
from autograder.contract.functions import (
    FUNCTION_ALIASES,
    RETURN_COUNTS,
    Argument,
    FloatArray,
)
from autograder.contract.outcomes import Failed, Outcome, Raised, Returned
from autograder.contract.source_text import LINE_BREAK
from autograder.contract.words import import_failure, missing_function

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}|<module>|<lambda>")
# Exception types the feedback may name: Python's built-in ones and numpy's own. Any other
# name is a class the submission made, and its name is free text it could fill with data.
EXCEPTION_NAMES = frozenset(
    {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    | set(np.exceptions.__all__)
    | {"LinAlgError"}
)
OWN_EXCEPTION = "an exception of its own class"
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

SIGNAL_HINTS: dict[int, str] = {
    signal.SIGXCPU: "it used up its CPU time limit",
    signal.SIGKILL: "it was killed (memory or process limit, or the grader's deadline)",
    signal.SIGSEGV: "it crashed (segmentation fault, often from very deep recursion)",
    signal.SIGXFSZ: "it wrote a file larger than allowed",
    signal.SIGABRT: "it aborted (often a failed memory allocation inside a library)",
}


def describe_exit(status: int | None) -> str:
    """Plain words for how a child process ended, from a fixed set of sentences.

    The exit code and any signal outside ``SIGNAL_HINTS`` are the submission's choice
    (``os._exit(n)``, ``os.kill``), so they are never named.
    """
    if status is None:
        return "it stopped answering"
    if status < 0 and -status in SIGNAL_HINTS:
        name = signal.Signals(-status).name
        return f"the process was ended by {name}: {SIGNAL_HINTS[-status]}"
    if status < 0:
        return "the process was ended by a signal"
    return "the process exited on its own (os._exit or a crash)"


@dataclass
class StudentModule:
    """The grader's handle on one submission's functions, running in confinement."""

    source: bytes
    limits: Limits
    started: float = field(default_factory=time.monotonic)
    process: ConfinedProcess | None = None
    resolved: dict[str, str] = field(default_factory=dict)
    import_failure: Failed | Raised | None = None
    hung: dict[str, Failed] = field(default_factory=dict)
    crashes: dict[str, int] = field(default_factory=dict)
    printed: list[str] = field(default_factory=list)
    uid: int | None = None  # the sandbox uid of this submission, fresh for it

    @property
    def line_count(self) -> int:
        """Lines of the submitted file: the only line numbers an exception may name."""
        return len(LINE_BREAK.findall(self.source)) + 1

    def _names(self) -> list[str]:
        return [name for aliases in FUNCTION_ALIASES.values() for name in aliases]

    def _budget_left(self) -> float:
        return self.limits.submission_seconds - (time.monotonic() - self.started)

    def _start(self) -> None:
        if self.uid is None:
            self.uid = new_sandbox_uid()  # every child of this submission, no other's
        self.process = ConfinedProcess(
            self.source,
            self._names(),
            self.limits,
            detect_confinement(),
            uid=self.uid,
        )
        deadline = time.monotonic() + min(
            self.limits.import_seconds, self._budget_left()
        )
        started = False  # the child announces itself before it runs the student's file
        try:
            header = read_header(
                self.process.reply_fd, deadline, self.limits.message_bytes
            )
            if header.get("status") == "started":
                started = True
                header = read_header(
                    self.process.reply_fd, deadline, self.limits.message_bytes
                )
        except ChannelTimeout:
            self._stop()
            self.import_failure = (
                Failed(
                    "timeout",
                    f"importing your file did not finish within "
                    f"{self.limits.import_seconds:g} s (is there an endless loop or a "
                    "long computation at module level?)",
                )
                if started
                else _not_started("did not start in time")
            )
            return
        except (ChannelClosed, ProtocolViolation):
            status = self._stop()
            self.import_failure = (
                Failed("crash", f"importing your file failed: {describe_exit(status)}")
                if started
                else _not_started(describe_exit(status))
            )
            return
        if header.get("status") == "import_error":
            self._stop()
            self.import_failure = _raised(
                header.get("error"), self.source, self.line_count
            )
            return
        found = header.get("functions")
        if header.get("status") != "ready" or not isinstance(found, dict):
            self._stop()
            self.import_failure = Failed(
                "protocol", "the child sent an unexpected reply"
            )
            return
        for canonical, aliases in FUNCTION_ALIASES.items():
            for alias in aliases:
                if found.get(alias) is True:
                    self.resolved.setdefault(canonical, alias)

    def _stop(self) -> int | None:
        if self.process is None:
            return None
        self.process.kill()
        status = self.process.exit_status()
        self.printed.append(self.process.drain.text())
        self.process = None
        return status

    def close(self) -> None:
        """End the child (and everything it started)."""
        self._stop()

    def call(self, function: str, args: list[Argument], expected_bytes: int) -> Outcome:
        """Call ``function`` (canonical name) with ``args``; never raises, never hangs.

        ``expected_bytes`` bounds what the grader will read back: the size of the
        expected output. The child withholds arrays beyond 4x that (their shape still
        comes back, so feedback names the wrong shape); a reply that sends more anyway
        is refused unread and its child killed.
        """
        if function in self.hung:
            return self.hung[function]
        if self._budget_left() <= 0:
            return Failed(
                "budget",
                f"the submission used up its total time budget of "
                f"{self.limits.submission_seconds:g} s before this call",
            )
        if self.process is None and self.import_failure is None:
            self._start()
        if self.import_failure is not None:
            return import_failure(self.import_failure)
        assert self.process is not None
        name = self.resolved.get(function)
        if name is None:
            return Failed("missing", missing_function(function))
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        max_bytes = max(4 * expected_bytes, 1 << 16)
        header = {
            "function": name,
            "max_bytes": max_bytes,
            "arrays": [{"dtype": str(a.dtype), "shape": list(a.shape)} for a in arrays],
            "args": [_encode_arg(a, arrays) for a in args],
        }
        wait = min(self.limits.call_seconds, self._budget_left())
        deadline = time.monotonic() + wait
        # The budget left depends on how long earlier calls took, which the submission
        # controls: the message names only the fixed limit it hit.
        limit = (
            f"within {self.limits.call_seconds:g} s"
            if wait >= self.limits.call_seconds
            else "before the submission's total time budget ran out"
        )
        try:
            write_frame(
                self.process.request_fd,
                header,
                [np.ascontiguousarray(a).tobytes() for a in arrays],
                deadline,
            )
            return self._read_reply(function, args, deadline, max_bytes)
        except ChannelTimeout:
            self._stop()
            failure = Failed(
                "timeout",
                f"{name} did not return {limit} (endless loop or far too slow); "
                "its other cases were not run again",
            )
            self.hung[function] = failure
            return failure
        except ChannelClosed:
            status = self._stop()
            crash = Failed("crash", f"while running {name}, {describe_exit(status)}")
            self.crashes[function] = self.crashes.get(function, 0) + 1
            if self.crashes[function] >= 2:
                self.hung[function] = crash
            return crash
        except ProtocolViolation as exc:
            self._stop()
            failure = Failed("protocol", f"{name} returned something unreadable: {exc}")
            self.crashes[function] = self.crashes.get(function, 0) + 1
            if self.crashes[function] >= 2:
                self.hung[function] = failure
            return failure

    def _read_reply(
        self, function: str, args: list[Argument], deadline: float, max_bytes: int
    ) -> Outcome:
        assert self.process is not None
        fd = self.process.reply_fd
        header = read_header(fd, deadline, self.limits.message_bytes)
        status = header.get("status")
        if status == "raised":
            return _raised(header.get("error"), self.source, self.line_count)
        arrays, count = header.get("arrays"), header.get("count")
        kind = header.get("kind")
        if status != "ok" or not isinstance(arrays, list) or len(arrays) > 8:
            raise ProtocolViolation("the reply is not one the grader asked for")
        if type(count) is not int or count < 0 or len(arrays) != min(count, 8):
            raise ProtocolViolation("the reply's count does not match its arrays")
        if kind not in ("single", "tuple", "list"):
            raise ProtocolViolation("the reply names an unknown kind of value")
        if kind == "single" and count != 1:
            raise ProtocolViolation("a single value must describe exactly one array")
        metas = tuple(parse_meta(raw) for raw in arrays)
        values = tuple(read_arrays(fd, list(metas), deadline, max_bytes))
        sent = {i for i, arg in enumerate(args) if isinstance(arg, np.ndarray)}
        modified = header.get("modified", [])
        if not isinstance(modified, list) or not all(
            type(index) is int and index in sent for index in modified
        ):
            raise ProtocolViolation("the reply names arguments the grader never sent")
        return Returned(
            container=kind,
            count=count if count == RETURN_COUNTS[function] else None,
            metas=metas,
            values=values,
            modified=tuple(sorted(set(modified))),
        )


def _not_started(how: str) -> Failed:
    """The child ended before it reached the student's file: the grader's fault."""
    return Failed(
        "internal_error",
        "the grader could not start the process that runs your code "
        f"({how}, before your file was read); this is not your code's fault",
    )


def _encode_arg(arg: Argument, arrays: list[FloatArray]) -> dict[str, object]:
    if isinstance(arg, np.ndarray):
        return {"array": next(i for i, a in enumerate(arrays) if a is arg)}
    if isinstance(arg, int):
        return {"int": arg}
    return {"float": float(arg)}


def clean_text(text: object, limit: int = 300) -> str:
    """A student-supplied string made one short line (feedback renders it as code)."""
    flat = " ".join(str(text).split())
    return flat[:limit] + ("..." if len(flat) > limit else "")


def _function_name(value: object, source: bytes) -> str | None:
    """The student's function an exception passed, if it is one their file defines
    (a name built at run time could carry a hidden input out)."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        return None
    if value.startswith("<") or re.search(
        rb"\bdef\s+" + value.encode() + rb"\b", source
    ):
        return value
    return None


def _raised(error: object, source: bytes, line_count: int) -> Raised:
    """An exception's description from the child, every field checked."""
    if not isinstance(error, dict):
        return Raised("Exception", "(no details)", None)
    name, message = error.get("type"), error.get("message", "")
    line, module = error.get("line"), error.get("module")
    return Raised(
        type=(
            name if isinstance(name, str) and name in EXCEPTION_NAMES else OWN_EXCEPTION
        ),
        message=clean_text(message) if isinstance(message, str) else "",
        line=line if type(line) is int and 1 <= line <= line_count else None,
        module=(
            module
            if isinstance(module, str)
            and len(module) <= 100
            and MODULE_NAME.fullmatch(module)
            else None
        ),
        function=_function_name(error.get("function"), source),
        raised_here=error.get("raised_here") is True,
    )
