"""mypy reads a copy of each file in which every ``# type: ignore`` and ``# mypy:`` is
neutralised, wherever it stands, so a submission cannot silence the checker it is graded
by. The grader, the handout's check.py and the Otter export all neutralise them here.
"""

from __future__ import annotations

import re

# Anything mypy could take for a silencer, in a comment or not (a string's text may change,
# its type does not); what is left stays a comment, and every line keeps its number.
SILENCER = re.compile(
    r"#[^\S\n]*(type[^\S\n]*:[^\S\n]*ignore|mypy[^\S\n]*:)", re.IGNORECASE
)
SILENCER_LEFT = "# (silencer removed)"


def strip_silencers(text: str) -> str:
    """``text`` with every mypy silencer neutralised, on the very lines mypy reads.

    ``text`` comes from ``decode_source`` (``\\n`` line endings only). The removal works on
    characters, not on a tokenizer's idea of lines, so form feeds, CR, U+2028 or a
    ``# mypy:`` inside a string cannot move a silencer out of its reach; nothing it writes
    holds a newline, so every line keeps its number.
    """
    return SILENCER.sub(SILENCER_LEFT, text)
