"""black, outside the grader's process: one worker per batch formats the files in turn,
each under a deadline (``Limits.black_seconds``), and is replaced when a file exceeds it
(or its memory cap); the file then gets "formatting not checked" with the reason.

black's answer depends only on the text and on black itself, so a batch may keep answers
in a cache folder, named by a hash of the text, black's installed files and the worker's
own source: a regrade (or the same file graded again) needs no black at all.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from autograder.config import Limits
from autograder.confine.channel import (
    ChannelClosed,
    ChannelTimeout,
    ProtocolViolation,
    read_header,
    write_frame,
)
from autograder.static.answers import AnswerCache
from autograder.static.report import StaticReport, shown_name
from autograder.static.tools import TOOL_START_SECONDS, tool_limits

BLACK_WORKER = Path(__file__).with_name("black_worker.py")


def black_answers(folder: Path) -> AnswerCache:
    """black's answers kept in ``folder``: for this black, as this worker asks it."""
    return AnswerCache(folder, ("black",), (BLACK_WORKER,))


class BlackRun:
    """One black worker process for a batch, checking files in turn under a deadline each.

    A file black does not finish within ``limits.black_seconds`` (or that makes it exceed
    ``limits.static_memory_bytes``) gets "formatting not checked" with the reason; its worker
    is killed and the next file gets a fresh one. Use as a context manager.
    """

    def __init__(self, limits: Limits, cache: AnswerCache | None = None) -> None:
        self.limits = limits
        self.cache = cache
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
            preexec_fn=lambda: tool_limits(self.limits.static_memory_bytes),
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
        kept = self.cache.get(report.text) if self.cache is not None else None
        if isinstance(kept, dict):
            _record_black(report, kept)
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
        if self.cache is not None:
            self.cache.put(report.text, answer)

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
            f"run `black {shown_name(report.file_name)}`"
        )
