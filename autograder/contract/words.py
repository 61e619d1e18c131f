"""Fixed words about a call that gave no answer: a missing function, an import that failed,
an exception, a name the grader will not repeat. The boundary (which reports import
failures and missing functions) and the judge say them the same way.
"""

from __future__ import annotations

import re

from .functions import FUNCTION_ALIASES
from .outcomes import Failed, Raised
from .source_text import line_ref


def code(text: str) -> str:
    """``text`` as a Markdown code span: literal whatever it holds, one line."""
    flat = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def missing_function(function: str) -> str:
    """The message when a graded function is not defined."""
    names = " or ".join(f"`{alias}`" for alias in FUNCTION_ALIASES[function])
    return f"no function named {names} was found at the top level of your file"


def unavailable_module(module: str) -> str:
    """The message for an import the grader cannot satisfy (the same everywhere)."""
    return (
        f"your file imports {code(module)}, which is not available to the grader "
        "(only numpy and the standard library are)"
    )


def where_raised(raised: Raised) -> str:
    """Where in the student's file an exception was raised or passed."""
    if raised.line is None:
        return ""
    place = f" at {line_ref(raised.line)} of your file"
    if raised.function and raised.function != "<module>":
        place += f", in your function {code(raised.function)}"
    return place


OWN_CLASS = "object of its own class"  # the grader names no class a submission made


def raised_summary(
    subject: str, raised: Raised, public: bool = True
) -> tuple[str, bool]:
    """An exception in the student's words, and whether its message adds anything.

    On a hidden case (``public`` False) nothing the submission chose appears: no line,
    no function name, no module name (it could pick them from the hidden inputs).
    """
    if raised.type == "NotImplementedError":
        return (
            f"{subject} is not implemented yet (it raises NotImplementedError)",
            False,
        )
    if raised.type == "ModuleNotFoundError" and raised.module and public:
        return unavailable_module(raised.module), False
    where = where_raised(raised) if public else ""
    if raised.type == "SystemExit":
        return f"{subject} called sys.exit{where}", False
    if raised.type == "RecursionError":
        return f"{subject} recursed too deeply (RecursionError){where}", False
    if raised.type == "MemoryError":
        return (
            f"{subject} ran out of memory (MemoryError: over the memory limit){where}",
            False,
        )
    return f"{subject} raised {raised.type}{where}", bool(raised.message)


def describe_raised(subject: str, raised: Raised, show_message: bool = True) -> str:
    """An exception in the student's words: type, where, and (public) its message.

    ``subject`` names who raised it: "`create_qkv`" or "importing your file".
    ``show_message`` is False on hidden cases, whose exception text could echo inputs.
    """
    text, has_message = raised_summary(subject, raised, show_message)
    return text + (f": {code(raised.message)}" if show_message and has_message else "")


def import_failure(failure: Failed | Raised) -> Failed:
    """What every call reports when the module could not be imported at all."""
    if isinstance(failure, Failed):
        return failure
    kind = "missing_module" if failure.type == "ModuleNotFoundError" else "import_error"
    return Failed(kind, describe_raised("importing your file", failure))
