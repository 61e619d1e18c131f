"""What a call to a student function gave back: the boundary's contract.

The grader's handle on its confined child (``confine.remote``), the self-check and the Otter
export (``judge.in_process``) each turn a call into one of these; the judge reads nothing
else. They carry only what was checked on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .functions import FloatArray


class ArrayFacts(Protocol):
    """What is known about one returned value before its numbers are read."""

    @property
    def dtype(self) -> str | None: ...
    @property
    def shape(self) -> tuple[int, ...] | None: ...
    @property
    def not_array(self) -> str | None: ...
    @property
    def withheld(self) -> bool: ...
    @property
    def too_large(self) -> bool: ...


@dataclass(frozen=True)
class Meta:
    """``ArrayFacts`` of a value returned in-process (the grader's come from its channel)."""

    dtype: str | None
    shape: tuple[int, ...] | None
    not_array: str | None = None
    withheld: bool = False  # a dtype no tolerance exists for: its numbers are not read
    too_large: bool = False  # over the size bound: its numbers are not read


@dataclass(frozen=True)
class Returned:
    """The function returned; ``values`` holds what came back, one entry per element."""

    container: str  # "single", "tuple" or "list"
    count: int | None  # how many values came back (None: not a count the grader trusts)
    metas: tuple[ArrayFacts, ...]
    values: tuple[FloatArray | None, ...]
    modified: tuple[int, ...]


@dataclass(frozen=True)
class Raised:
    """The function raised an exception (or called sys.exit).

    ``line`` and ``function`` name the innermost place in the student's file the exception
    passed; ``raised_here`` says a ``raise`` statement there raised it (rather than a
    library call, numpy's reshape say, or an operation like ``//``).
    """

    type: str
    message: str
    line: int | None
    module: str | None = None
    function: str | None = None
    raised_here: bool = False


@dataclass(frozen=True)
class Failed:
    """The call produced no answer: timeout, crash, exit, missing function, bad reply."""

    kind: str
    message: str


Outcome = Returned | Raised | Failed
