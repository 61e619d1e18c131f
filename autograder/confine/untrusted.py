"""Text that came from a submission, made safe once, where it enters the grader.

Every string the grader takes from a submission passes through ``safe_text`` at the point it
enters: each string of every header the child sends (``channel.read_header``: exception
types, messages, module and class names), what the child printed (``process.OutputDrain``),
and what tools reading the student's file say about it (Python's parser, mypy). After it:

- the text is a valid Unicode string that encodes to UTF-8 (lone surrogates, which JSON's
  ``\\ud800`` escapes produce, are replaced by U+FFFD);
- it holds no control character other than newline and tab: C0 and C1 controls (ESC and
  the 8-bit CSI among them), DEL, the Unicode line and paragraph separators and the bidi
  embedding, override and isolate controls are replaced by U+FFFD; CR and CRLF become
  newlines;
- it is at most ``limit`` characters long (cut ones end with "...").

It is not escaped for any format: whoever writes it into Markdown, CSV or a terminal
renders it for that format. Nothing else in the grader needs to clean such text again.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
CUT_MARK = "..."
DEFAULT_LIMIT = 1000
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def safe_text(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """``text`` with the guarantees of this module's docstring (never raises)."""
    if not isinstance(
        text, str
    ):  # a caller's bug must not let bytes or objects through
        text = repr(text)
    if len(text) > 4 * limit:  # bound the work before any regex runs
        text = text[: 4 * limit]
    text = UNSAFE.sub(REPLACEMENT, text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > limit:
        text = text[: max(limit - len(CUT_MARK), 0)] + CUT_MARK
    return text


def is_safe(text: str, limit: int = DEFAULT_LIMIT) -> bool:
    """Whether ``text`` already keeps every guarantee (tests and assertions use it)."""
    return len(text) <= limit and UNSAFE.search(text) is None and "\r" not in text
