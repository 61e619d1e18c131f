"""Submission ids: the file or folder name (without ``.py``, ``.ipynb`` or the archive suffix)
reduced to letters, digits, ``-`` and ``_``. When several names reduce to the same id,
ignoring case (``x/``, ``x.py``, ``X.PY``), each of them gets ``-`` and the first hex digits
of the SHA-256 of its exact name appended, as many as make every id unique. An id depends
only on the names in SUBMISSIONS, so regrading the same folder gives the same ids.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter

from autograder.intake.archives import archive_stem
from autograder.intake.submission import NOTEBOOK_SUFFIX, PYTHON_SUFFIX

ID_LENGTH = 100


def safe_id(name: str) -> str:
    """A name usable as a folder in OUT: letters, digits, dash, underscore.

    No dots, so an id can never collide with the batch's own files (``gradebook.csv``,
    ``summary.md``, ...), and no leading dash or underscore, so no id reads as an option
    or a formula, or collides with the grader's own ``_known_good``.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-") or "submission"
    return cleaned[:ID_LENGTH]


def assign_ids(names: list[str]) -> list[str]:
    """Unique, stable ids for top-level entries named ``names`` (see the module docstring)."""
    natural = [safe_id(stem(name)) for name in names]
    taken = Counter(n.casefold() for n in natural)
    digests = [
        hashlib.sha256(n.encode("utf-8", "surrogateescape")).hexdigest() for n in names
    ]
    ids = list(natural)
    length = 6
    clashing = {i for i, n in enumerate(natural) if taken[n.casefold()] > 1}
    while clashing and length <= 64:
        for i in clashing:
            ids[i] = f"{natural[i][: ID_LENGTH - length - 1]}-{digests[i][:length]}"
        counts = Counter(i.casefold() for i in ids)
        clashing = {i for i in clashing if counts[ids[i].casefold()] > 1}
        length += 2
    return ids


def stem(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith((PYTHON_SUFFIX, NOTEBOOK_SUFFIX)):
        return os.path.splitext(name)[0]
    return archive_stem(name)
