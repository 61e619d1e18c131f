"""Judging in the student's own process, as the handout's self-check and the Otter export
do: a call with fresh inputs, a time limit and only numpy and the standard library
importable, and the loop over cases that gives the grader's verdicts.
"""

from __future__ import annotations

import contextlib
import dis
import importlib.abc
import importlib.machinery
import io
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..contract.functions import MHA, Argument, FloatArray
from ..contract.outcomes import Failed, Meta, Outcome, Raised, Returned
from ..contract.words import missing_function
from .case import Case
from .compare import TOLERANCES, Matcher
from .localise import localise
from .references import NoReference, Reference
from .review import review
from .verdict import Verdict, verdict

# A ``raise`` statement's instruction, as the child recognises it (``confine/child.py``).
RAISE_OPCODE = bytes([dis.opmap["RAISE_VARARGS"]])


class CallTimeout(BaseException):
    """Raised by the alarm (not an Exception: student code cannot swallow it by accident)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
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


def _raise_statement(code_object: types.CodeType, offset: int) -> bool:
    """Whether the instruction at ``offset`` is a ``raise`` (the child's own test)."""
    return code_object.co_code[offset : offset + 1] == RAISE_OPCODE


def exception_facts(exc: BaseException, student_file: str) -> Raised:
    """``Raised`` for an exception caught in this process, as the grader's child reports
    it: the innermost place in ``student_file`` it passed, and whether a ``raise`` there
    raised it: the instruction its traceback names there, not the frame's last one (a
    bare ``raise`` re-raising what an operation raised is not a check of its own)."""
    entries: list[types.TracebackType] = []
    entry = exc.__traceback__
    while entry is not None:
        entries.append(entry)
        entry = entry.tb_next
    mine = [
        (index, entry)
        for index, entry in enumerate(entries)
        if entry.tb_frame.f_code.co_filename == student_file
    ]
    index, last = mine[-1] if mine else (-1, None)
    frame = last.tb_frame if last is not None else None
    line = last.tb_lineno if last is not None else None
    raised_here = (
        last is not None
        and index == len(entries) - 1
        and _raise_statement(last.tb_frame.f_code, last.tb_lasti)
    )
    if isinstance(exc, SyntaxError) and exc.filename == student_file:
        line = exc.lineno
    return Raised(
        type=type(exc).__name__,
        message=" ".join(str(exc).split())[:300],
        line=line,
        module=exc.name if isinstance(exc, ModuleNotFoundError) else None,
        function=frame.f_code.co_name if frame is not None else None,
        raised_here=raised_here,
    )


def returned_facts(result: object, modified: tuple[int, ...]) -> Returned:
    """``Returned`` for a value returned in this process (plain ndarrays, numeric only)."""
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    container = (
        "tuple"
        if isinstance(result, tuple)
        else "list" if isinstance(result, list) else "single"
    )
    metas: list[Meta] = []
    values: list[FloatArray | None] = []
    for item in items[:8]:
        if not isinstance(item, np.ndarray):
            metas.append(Meta(None, None, not_array=type(item).__name__))
            values.append(None)
            continue
        array: FloatArray = np.ndarray.view(item, np.ndarray)
        dtype = array.dtype.name  # "float16", "object", "str160": no markup in it
        accepted = dtype in TOLERANCES
        metas.append(Meta(dtype, tuple(array.shape), withheld=not accepted))
        values.append(np.ndarray.copy(array) if accepted else None)
    return Returned(container, len(items), tuple(metas), tuple(values), modified)


def call_in_process(
    function: Callable[..., object],
    args: Sequence[Argument],
    student_file: str,
    seconds: float,
) -> tuple[Outcome, str]:
    """Call a student function here, on fresh copies of ``args``, within ``seconds``:
    the outcome, and what it printed."""
    fresh = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in fresh]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            with time_limit(seconds), np.errstate(all="ignore"):
                result = function(*fresh)
    except CallTimeout:
        name = getattr(function, "__name__", "the function")
        return (
            Failed(
                "timeout",
                f"{name} did not return within {seconds:g} s (endless loop or far too slow)",
            ),
            printed.getvalue(),
        )
    except BaseException as exc:  # noqa: B036 - whatever student code raises is judged
        return exception_facts(exc, student_file), printed.getvalue()
    modified = tuple(
        index
        for index, (old, new) in enumerate(zip(before, fresh))
        if isinstance(old, np.ndarray)
        and not (
            isinstance(new, np.ndarray)
            and new.shape == old.shape
            and ((new == old) | ((new != new) & (old != old))).all()
        )
    )
    try:
        return returned_facts(result, modified), printed.getvalue()
    except BaseException as exc:  # noqa: B036 - a hostile __len__ or __iter__
        return exception_facts(exc, student_file), printed.getvalue()


def stdlib_or_numpy(module: str) -> bool:
    """Whether ``module`` is numpy's or the standard library's (what the grader offers)."""
    top = module.split(".")[0]
    return top == "numpy" or top in sys.stdlib_module_names


class _OnlyNumpyAndStdlib(importlib.abc.MetaPathFinder):
    """Refuses every other import, as the grader's sandbox does not have them."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if stdlib_or_numpy(fullname):
            return None
        raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)


@contextlib.contextmanager
def only_numpy_and_stdlib() -> Iterator[None]:
    """Within the block, importing anything but numpy and the standard library fails
    with ModuleNotFoundError (modules already imported stay importable)."""
    finder = _OnlyNumpyAndStdlib()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


# --- the deliveries' loop over cases ----------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """One case judged in this process: its verdict and what the call printed."""

    case: Case
    verdict: Verdict
    printed: str


def check_all(
    cases: Sequence[Case],
    find: Callable[[str], Callable[..., object] | None],
    student_file: str,
    references: dict[str, Reference],
    source_lines: Sequence[str] = (),
    seconds: float = 10.0,
    matchers: dict[str, Matcher] | None = None,
) -> list[Checked]:
    """Call and judge every case in this process, as the grader does in its child:
    each call with fresh inputs and a time limit (a function that hangs is not called
    again), failing multi-head cases localised, then the look across cases.

    ``find`` gives the student's function by canonical name (None when missing).
    """
    hung: dict[str, Failed] = {}
    printed: list[str] = []

    def call(function: str, args: list[Argument], nbytes: int) -> Outcome:
        target = find(function)
        if target is None:
            return Failed("missing", missing_function(function))
        if function in hung:
            return hung[function]
        with only_numpy_and_stdlib():
            outcome, output = call_in_process(target, args, student_file, seconds)
        printed.append(output)
        if isinstance(outcome, Failed) and outcome.kind == "timeout":
            outcome = Failed(
                "timeout", f"{outcome.message}; its other cases were not run again"
            )
            hung[function] = outcome
        return outcome

    judged: list[tuple[Case, Verdict, str]] = []
    for case in cases:
        printed.clear()
        outcome = call(case.function, list(case.args), case.expected_bytes)
        shown = "".join(printed)
        reference = references.get(case.id, NoReference())
        matcher = (matchers or {}).get(case.id)
        found = verdict(case, outcome, reference, source_lines, matcher)
        if case.function == MHA and not found.passed:
            found = localise(case, found, reference, call, source_lines)
        judged.append((case, found, shown))
    reviewed = review([(case, found) for case, found, _ in judged])
    return [
        Checked(case, found, shown) for (case, _, shown), found in zip(judged, reviewed)
    ]
