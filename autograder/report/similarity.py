"""Rank pairs of submissions by code similarity, so an instructor looks at the few that matter.

Each file becomes a stream of normalised tokens, then a set of k-gram fingerprints:

- formatting, comments, docstrings and trailing commas are dropped (black or a new comment
  changes nothing); every string literal becomes one placeholder token;
- local names (variables, functions, parameters) are replaced by a back-reference: the
  distance, in tokens, to the previous use of the same name (``new`` for a first use).
  Renaming consistently leaves the stream unchanged, and an inserted line only disturbs the
  references that span it. Keywords, builtins, attribute names (``np.matmul``,
  ``.reshape``), keyword-argument names (``axis=``) and imported module names stay literal:
  a copier cannot rename them without changing the program, and they are what tells
  ``np.einsum`` from a loop over heads;
- fingerprints that also occur in the handout skeleton (``student/mhsa.py``) are removed, and
  in a large class so are those shared by most submissions (the common idioms of this
  assignment), so boilerplate never makes two files look alike.

Two files' similarity is the Jaccard index of their fingerprint sets; the report also gives
how much of each file the other contains, so a copy padded with extra code still shows.
Only the grader's main process calls this, on source bytes it already holds; nothing runs.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import io
import json
import keyword
import tokenize
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from autograder.config import KIT_ROOT
from autograder.report.spreadsheet import write_csv as write_rows
from autograder.static.answers import AnswerCache

SKELETON = KIT_ROOT / "student" / "mhsa.py"
MEASUREMENTS = KIT_ROOT / ".cache" / "similarity"  # each source's, by its exact bytes

SIMILARITY_CSV = "similarity.csv"
K = 12  # tokens per fingerprint: long enough that one line of numpy is not a match
THRESHOLD = 0.5  # Jaccard similarity at or above which a pair is flagged
CONTAINED = 0.8  # ... or when this share of one file's fingerprints is in the other
CONTAINED_MIN_SHARED = 20  # ... and they share at least this many fingerprints
COMMON_SHARE = 0.5  # in a class of at least COMMON_MIN_CLASS, fingerprints in more than
COMMON_MIN_CLASS = 20  # this share of submissions are common idioms, not evidence
MAX_ROWS = (
    2000  # rows written to similarity.csv (pairs sharing nothing are never written)
)

_BUILTINS = frozenset(dir(builtins))
_DROPPED = frozenset(
    {
        tokenize.ENCODING,
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
        tokenize.TYPE_COMMENT,
    }
)
_LINE_START = frozenset(
    {tokenize.ENCODING, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
)
# Python 3.12+ splits f-strings (3.14 also t-strings) into START ... END tokens.
_TEMPLATE_START = frozenset(
    number
    for number, name in tokenize.tok_name.items()
    if name in ("FSTRING_START", "TSTRING_START")
)
_TEMPLATE_END = frozenset(
    number
    for number, name in tokenize.tok_name.items()
    if name in ("FSTRING_END", "TSTRING_END")
)
_OPENING = frozenset({"(", "[", "{"})
_CLOSING = frozenset({")", "]", "}"})


@dataclass(frozen=True)
class Pair:
    """Two submissions and how alike their code is (similarity is the ranking key)."""

    a: str
    b: str
    similarity: float  # Jaccard index of the fingerprint sets, 0..1
    a_in_b: float  # share of a's fingerprints found in b
    b_in_a: float
    shared: int  # fingerprints in common
    identical: bool  # the same token stream after normalisation
    flagged: bool


@dataclass(frozen=True)
class SimilarityReport:
    """Ranked pairs (most similar first) and what the ranking left out, and why."""

    pairs: tuple[Pair, ...]
    compared: int  # submissions that had code beyond the skeleton
    skeleton_only: tuple[str, ...]  # nothing beyond the skeleton: not compared
    skeleton_used: bool
    common_dropped: int  # fingerprints ignored as common idioms of the class

    @property
    def flagged(self) -> tuple[Pair, ...]:
        """Pairs at or above the threshold."""
        return tuple(p for p in self.pairs if p.flagged)


def _raw_tokens(source: bytes) -> list[tokenize.TokenInfo]:
    """Tokens of ``source``, up to the first tokenizer error (a broken file still counts)."""
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError, ValueError, UnicodeDecodeError):
        pass
    return tokens


def _without_bare_strings(tokens: list[tokenize.TokenInfo]) -> list[tokenize.TokenInfo]:
    """``tokens`` less comments, blank lines, docstrings and other string-only statements."""
    kept = [t for t in tokens if t.type not in (tokenize.COMMENT, tokenize.NL)]
    out: list[tokenize.TokenInfo] = []
    index = 0
    while index < len(kept):
        token = kept[index]
        starts_line = index == 0 or kept[index - 1].type in _LINE_START
        if token.type == tokenize.STRING and starts_line:
            end = index
            while end < len(kept) and kept[end].type == tokenize.STRING:
                end += 1
            if end == len(kept) or kept[end].type in (
                tokenize.NEWLINE,
                tokenize.ENDMARKER,
            ):
                index = end  # a statement that is only a string: a docstring
                continue
        out.append(token)
        index += 1
    return out


def normalise(source: bytes) -> list[str]:
    """The token stream that fingerprints are taken from (see the module docstring)."""
    tokens = [
        t for t in _without_bare_strings(_raw_tokens(source)) if t.type not in _DROPPED
    ]
    out: list[str] = []
    placeholders: dict[str, str] = {}
    depth = 0
    template_depth = 0
    for index, token in enumerate(tokens):
        kind, text = token.type, token.string
        if kind in _TEMPLATE_START:
            if template_depth == 0:
                out.append("S")
            template_depth += 1
            continue
        if kind in _TEMPLATE_END:
            template_depth -= 1
            continue
        if template_depth:
            continue
        previous = tokens[index - 1].string if index else ""
        following = tokens[index + 1].string if index + 1 < len(tokens) else ""
        if kind == tokenize.OP:
            depth += text in _OPENING
            depth -= text in _CLOSING
            if text == "," and following in _CLOSING:
                continue  # black's magic trailing comma
            out.append(text)
        elif kind == tokenize.STRING:
            out.append("S")
        elif kind == tokenize.NAME:
            literal = (
                keyword.iskeyword(text)
                or text in _BUILTINS
                or previous in (".", "import", "from")
                or (depth > 0 and following == "=" and previous in ("(", ","))
            )
            out.append(
                text
                if literal
                else placeholders.setdefault(text, "$" + str(len(placeholders)))
            )
        else:
            out.append(text)
    return out


def fingerprints(stream: list[str], k: int = K) -> set[int]:
    """Hashes of every k-gram of ``stream`` (the whole stream when it is shorter)."""
    if not stream:
        return set()
    starts = range(max(len(stream) - k, 0) + 1)
    return {_stable_hash(_renumbered(stream[i : i + k])) for i in starts}


def _renumbered(window: list[str]) -> tuple[str, ...]:
    """Name placeholders renumbered by first appearance inside ``window`` alone.

    So a k-gram's fingerprint depends on its own tokens only: a line inserted elsewhere,
    which shifts the file-wide numbering, leaves it unchanged.
    """
    local: dict[str, str] = {}
    return tuple(
        local.setdefault(t, f"${len(local)}") if t[0] == "$" else t for t in window
    )


def _stable_hash(gram: tuple[str, ...]) -> int:
    """A hash that does not change between runs (Python's str hash is salted)."""
    digest = hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True)
class Measurement:
    """What ``compare`` needs of one source: a digest of its normalised token stream (equal
    digests: identical files) and its fingerprints."""

    stream: str
    prints: frozenset[int]


@functools.cache
def _kept() -> AnswerCache:
    """Measurements kept on disk, by the exact source and this module's own text."""
    return AnswerCache(MEASUREMENTS, (), (Path(__file__),))


@functools.cache
def measured(source: bytes) -> Measurement:
    """A source's measurement, kept for the process and in ``MEASUREMENTS``: a batch
    measures each submission as its result comes in (``pipeline.batch``), so ``compare``
    finds them ready instead of tokenising the whole class at the end, and one student
    graded again into a class's OUT reads the others' instead of tokenising them again.
    """
    text = source.decode("latin-1")  # one text per byte string, whatever its encoding
    kept = _kept().get(text)
    if isinstance(kept, dict):
        stream, prints = kept.get("stream"), kept.get("prints")
        if isinstance(stream, str) and isinstance(prints, list):
            if all(isinstance(found, int) for found in prints):
                return Measurement(stream, frozenset(prints))
    tokens = normalise(source)
    digest = hashlib.sha256(json.dumps(tokens).encode()).hexdigest()
    measurement = Measurement(digest, frozenset(fingerprints(tokens)))
    _kept().put(text, {"stream": digest, "prints": sorted(measurement.prints)})
    return measurement


def compare(
    sources: Mapping[str, bytes],
    skeleton: bytes | None = None,
    threshold: float = THRESHOLD,
) -> SimilarityReport:
    """Fingerprint every source, drop boilerplate, and rank all pairs sharing anything."""
    boilerplate = measured(skeleton).prints if skeleton else frozenset()
    streams = {name: measured(source).stream for name, source in sources.items()}
    prints = {name: measured(s).prints - boilerplate for name, s in sources.items()}
    common: set[int] = set()
    if len(prints) >= COMMON_MIN_CLASS:
        counts = Counter(h for found in prints.values() for h in found)
        common = {h for h, n in counts.items() if n > COMMON_SHARE * len(prints)}
        prints = {name: found - common for name, found in prints.items()}
    names = sorted(name for name, found in prints.items() if found)
    pairs: list[Pair] = []
    for i, a in enumerate(names):
        mine = prints[a]
        for b in names[i + 1 :]:
            theirs = prints[b]
            shared = len(mine & theirs)
            if not shared:
                continue
            similarity = shared / (len(mine) + len(theirs) - shared)
            a_in_b, b_in_a = shared / len(mine), shared / len(theirs)
            flagged = similarity >= threshold or (
                max(a_in_b, b_in_a) >= CONTAINED and shared >= CONTAINED_MIN_SHARED
            )
            pairs.append(
                Pair(
                    a,
                    b,
                    round(similarity, 4),
                    round(a_in_b, 4),
                    round(b_in_a, 4),
                    shared,
                    streams[a] == streams[b],
                    flagged,
                )
            )
    pairs.sort(key=lambda p: (-p.identical, -p.similarity, -p.shared, p.a, p.b))
    return SimilarityReport(
        pairs=tuple(pairs),
        compared=len(names),
        skeleton_only=tuple(sorted(n for n, found in prints.items() if not found)),
        skeleton_used=bool(boilerplate),
        common_dropped=len(common),
    )


def read_skeleton(path: Path = SKELETON) -> bytes | None:
    """The handout skeleton, or None where the kit is deployed without ``student/``."""
    return path.read_bytes() if path.is_file() else None


CSV_COLUMNS = [
    "rank",
    "submission_a",
    "submission_b",
    "similarity",
    "a_in_b",
    "b_in_a",
    "shared_fingerprints",
    "identical_after_normalising",
    "flagged",
    "students_a",
    "students_b",
]


def write_csv(
    report: SimilarityReport, path: Path, names: Mapping[str, str] | None = None
) -> None:
    """``similarity.csv``: the ranked pairs, most similar first (at most MAX_ROWS).

    ``names`` (id -> the submitters' names) fills the students columns where known.
    """
    known = names or {}
    write_rows(
        path,
        CSV_COLUMNS,
        (
            [
                rank,
                pair.a,
                pair.b,
                f"{pair.similarity:.3f}",
                f"{pair.a_in_b:.3f}",
                f"{pair.b_in_a:.3f}",
                pair.shared,
                "yes" if pair.identical else "no",
                "yes" if pair.flagged else "no",
                known.get(pair.a, ""),
                known.get(pair.b, ""),
            ]
            for rank, pair in enumerate(report.pairs[:MAX_ROWS], start=1)
        ),
    )
