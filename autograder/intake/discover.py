"""Find submissions: a folder of ``<id>.py`` or ``<id>.ipynb`` files, a folder per student, an
archive of either, or Gradescope's "Export Submissions" (zip or unpacked folder).

Every file found is either graded or listed as ignored with the reason (``manifest``).
Rules, in the order they apply:

- At the top of SUBMISSIONS, each ``.py`` or ``.ipynb`` file, each folder and each archive
  (``.zip``, ``.tar``, ``.tar.gz``, ...) is one submission; hidden and system files
  (``.DS_Store``, ``__MACOSX``, ``.ipynb_checkpoints``), links and other files are ignored.
  A Gradescope export is recognised by its ``submission_metadata.yml``, which names each
  ``submission_<id>`` folder's submitters.
- Inside a submission (any depth, archives opened up to ``MAX_NESTED_ARCHIVES`` deep), the
  graded file is ``mhsa.py``, else ``mhsa.ipynb`` (names compared ignoring case, the
  shallowest first), else the one ``.py`` or ``.ipynb`` file that defines the most of the
  three functions (a ``.py`` file winning a tie with notebooks). A submission with no such
  file, or with a tie, still gets a row, with the reason.
- Ids: the file or folder name (without ``.py``, ``.ipynb`` or the archive suffix) reduced to
  letters, digits, ``-`` and ``_``. When several names reduce to the same id, ignoring case
  (``x/``, ``x.py``, ``X.PY``), each of them gets ``-`` and the first hex digits of the
  SHA-256 of its exact name appended, as many as make every id unique. An id depends only
  on the names in SUBMISSIONS, so regrading the same folder gives the same ids.

Files are read into memory here; the grader never runs anything from SUBMISSIONS.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.contract.functions import FUNCTION_ALIASES
from autograder.contract.source_text import LineMap, SourceDecodeError, decode_source
from autograder.intake.archives import (
    ArchiveError,
    Bounds,
    archive_kind,
    archive_stem,
    unpack,
)
from autograder.intake.manifest import Entry
from autograder.intake.notebook import (
    NotebookError,
    describe_dropped,
    notebook_to_script,
)
from autograder.intake.roster import (
    GRADESCOPE_EXPORT_METADATA,
    Person,
    Submitters,
    export_metadata,
)

PREFERRED_STEM = "mhsa"
PYTHON_SUFFIX, NOTEBOOK_SUFFIX = ".py", ".ipynb"
MAX_PY_BYTES = 512 << 10
MAX_NOTEBOOK_BYTES = 16 << 20  # outputs (plots) make notebooks large
MAX_NESTED_ARCHIVES = 2  # an archive in a submission, and one more inside it
TOP_BOUNDS = Bounds(max_members=20_000, max_bytes=1 << 30)
NESTED_BOUNDS = Bounds(max_members=2_000, max_bytes=64 << 20)
NESTED_BUDGET = 1 << 30  # bytes all archives inside submissions may unpack to together
SYSTEM_NAMES = frozenset({"__macosx", "__pycache__", "thumbs.db", "desktop.ini"})
ID_LENGTH = 100
_UNSUPPORTED = "an archive type the grader cannot open (use .zip or .tar.gz)"
_UNOPENED = "an archive that cannot be opened"
LOOKED_FOR = (
    "looked for <id>.py and <id>.ipynb files, <id>/ folders and .zip/.tar.gz archives "
    "holding one, and Gradescope's Export Submissions (submission_metadata.yml)"
)


class IntakeError(Exception):
    """SUBMISSIONS cannot be read as given; the message says why, in one line."""


@dataclass(frozen=True)
class Submission:
    """One submission's graded file, read into memory, and who submitted it.

    ``source`` is what runs: the file's bytes, or for a notebook the script built from its
    code cells (``line_map`` then says which cell each line came from, ``notes`` what was
    left out). ``file_name`` is the graded file's path inside the submission.
    """

    id: str
    file_name: str
    source: bytes
    people: tuple[Person, ...] = ()
    problem: str | None = None  # why no file could be graded
    problem_kind: str = "no_file"
    submitted_at: str = ""
    line_map: LineMap | None = None
    notes: tuple[str, ...] = ()

    @property
    def student(self) -> str:
        """``Name <email>`` of each submitter, ``; ``-separated ("" when unknown)."""
        return "; ".join(person.label() for person in self.people)

    @property
    def names(self) -> str:
        """The submitters' names for tables ("" when nobody is known)."""
        known = [p.name or p.email or p.sid for p in self.people]
        return ", ".join(known) if known else ""


@dataclass
class Intake:
    """Every submission found and what happened to every file."""

    submissions: list[Submission]
    manifest: list[Entry]

    @property
    def ignored(self) -> list[Entry]:
        """Files that were neither graded nor used."""
        return [entry for entry in self.manifest if entry.outcome == "ignored"]


@dataclass
class _File:
    """A file inside a submission, as the manifest shows it."""

    shown: str
    path: Path | None
    skip: str = ""  # why it cannot be the graded file ("" for a .py or .ipynb)
    opened: str = ""  # an archive that was opened: what it held

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.shown)[1].lower()

    @property
    def depth(self) -> int:
        return self.shown.count("/")


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
    natural = [safe_id(_stem(name)) for name in names]
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


def _stem(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith((PYTHON_SUFFIX, NOTEBOOK_SUFFIX)):
        return os.path.splitext(name)[0]
    return archive_stem(name)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.casefold() in SYSTEM_NAMES


def _defined_functions(data: bytes, notebook: bool) -> int:
    """How many of the three functions a candidate defines at its top level."""
    try:
        text = notebook_to_script(data).text if notebook else decode_source(data)
        tree = ast.parse(text)
    except (NotebookError, SourceDecodeError, SyntaxError, ValueError, RecursionError):
        return 0
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return sum(
        any(alias in defined for alias in aliases)
        for aliases in FUNCTION_ALIASES.values()
    )


class _Walker:
    """Walks SUBMISSIONS once, unpacking archives into its own temporary folder."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.manifest: list[Entry] = []
        self.budget = NESTED_BUDGET

    # --- the top level -------------------------------------------------------------

    def intake(self, source: Path) -> Intake:
        if not source.exists():
            raise IntakeError(f"{source}: no such file or folder")
        if source.is_dir():
            top = _single_top_folder(source)  # an export unpacked into a folder
            if top != source and not (top / GRADESCOPE_EXPORT_METADATA).is_file():
                top = source
            return self._class_folder(top, self._descended(source, top))
        kind = archive_kind(source.name)
        if kind in ("zip", "tar"):
            root = Path(tempfile.mkdtemp(dir=self.scratch))
            try:
                unpacked = unpack(source, root, TOP_BOUNDS)
            except ArchiveError as exc:
                raise IntakeError(str(exc)) from exc
            for member, why in unpacked.skipped:
                self.manifest.append(Entry(member, "", "ignored", why))
            top = _single_top_folder(root)
            return self._class_folder(top, self._descended(root, top))
        if source.suffix.lower() in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX):
            return self._submissions([(source, source.name)], {})
        raise IntakeError(
            f"{source.name}: not a folder, a .py or .ipynb file, or a .zip, .tar or "
            ".tar.gz archive"
        )

    def _descended(self, root: Path, top: Path) -> str:
        """The manifest's prefix for ``top``; the hidden files beside it are listed."""
        if top == root:
            return ""
        for entry in sorted(root.iterdir()):
            if entry != top:
                self._ignore_all(entry, entry.name, "", "a hidden or system file")
        return f"{top.name}/"

    def _class_folder(self, root: Path, prefix: str) -> Intake:
        try:
            entries = sorted(root.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            raise IntakeError(f"{root}: cannot be read ({exc.strerror})") from exc
        metadata = root / GRADESCOPE_EXPORT_METADATA
        submitters: dict[str, Submitters] = {}
        tops: list[tuple[Path, str]] = []
        for entry in entries:
            shown = prefix + entry.name
            if entry.name == GRADESCOPE_EXPORT_METADATA and entry.is_file():
                submitters = export_metadata(metadata)
                self._note(
                    shown, "", "read", "Gradescope metadata: names, SIDs, emails"
                )
            elif entry.is_symlink():
                self._note(shown, "", "ignored", "a symbolic link (not followed)")
            elif _hidden(entry.name):
                self._ignore_all(entry, shown, "", "a hidden or system file")
            elif entry.is_dir() or (
                entry.is_file()
                and (
                    entry.suffix.lower() in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX)
                    or archive_kind(entry.name) in ("zip", "tar")
                )
            ):
                tops.append((entry, entry.name))
            elif archive_kind(entry.name) == "unsupported":
                self._note(shown, "", "ignored", _UNSUPPORTED)
            else:
                self._note(
                    shown,
                    "",
                    "ignored",
                    "not a submission (a .py or .ipynb file, a folder or an archive)",
                )
        return self._submissions([(p, prefix + n) for p, n in tops], submitters)

    def _submissions(
        self, tops: list[tuple[Path, str]], submitters: dict[str, Submitters]
    ) -> Intake:
        ids = assign_ids([path.name for path, _ in tops])
        found: list[Submission] = []
        for (path, shown), submission_id in zip(tops, ids):
            who = submitters.get(path.name, Submitters())
            if path.is_dir():
                files = self._collect(path, shown, 0)
            elif archive_kind(path.name) in ("zip", "tar"):
                files = self._open_archive(path, shown, 0)
            else:
                files = [_File(shown, path)]
            found.append(self._submission(submission_id, files, who, shown))
        return Intake(found, sorted(self.manifest, key=lambda entry: entry.path))

    # --- inside one submission -------------------------------------------------------

    def submission(
        self, folder: Path, submission_id: str, who: Submitters
    ) -> Submission:
        """The one submission in ``folder`` (``run_autograder``'s submission folder)."""
        files = self._collect(folder, "", 0) if folder.is_dir() else []
        return self._submission(submission_id, files, who, "")

    def _collect(self, folder: Path, shown: str, depth: int) -> list[_File]:
        """Every file under ``folder`` (archives opened), in name order."""
        files: list[_File] = []
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            return [_File(shown or ".", None, f"unreadable folder ({exc.strerror})")]
        for entry in entries:
            here = f"{shown}/{entry.name}" if shown else entry.name
            path = Path(entry.path)
            if entry.is_symlink():
                files.append(_File(here, None, "a symbolic link (not followed)"))
            elif _hidden(entry.name):
                files += self._all_files(path, here, "a hidden or system file")
            elif entry.is_dir():
                files += self._collect(path, here, depth)
            elif not entry.is_file():
                files.append(_File(here, None, "not a regular file"))
            elif archive_kind(entry.name) in ("zip", "tar"):
                files += self._open_archive(path, here, depth)
            elif archive_kind(entry.name) == "unsupported":
                files.append(_File(here, None, _UNSUPPORTED))
            elif path.suffix.lower() in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX):
                files.append(_File(here, path))
            else:
                files.append(_File(here, None, "not a .py or .ipynb file"))
        return files

    def _open_archive(self, archive: Path, shown: str, depth: int) -> list[_File]:
        if depth >= MAX_NESTED_ARCHIVES:
            return [_File(shown, None, "an archive nested too deep to be opened")]
        if self.budget <= 0:
            return [
                _File(shown, None, "not opened: archives used up the unpack budget")
            ]
        into = Path(tempfile.mkdtemp(dir=self.scratch))
        bounds = Bounds(
            NESTED_BOUNDS.max_members, min(NESTED_BOUNDS.max_bytes, self.budget)
        )
        try:
            unpacked = unpack(archive, into, bounds)
        except ArchiveError as exc:
            return [_File(shown, None, f"{_UNOPENED}: {exc}")]
        self.budget -= sum(p.stat().st_size for p in into.rglob("*") if p.is_file())
        files = [_File(shown, None, opened=f"archive holding {unpacked.files} file(s)")]
        files += [
            _File(f"{shown}/{member}", None, f"{why}, inside the archive")
            for member, why in unpacked.skipped
        ]
        return files + self._collect(into, shown, depth + 1)

    def _all_files(self, path: Path, shown: str, why: str) -> list[_File]:
        """``path`` and, for a folder, every file under it, all with the same reason."""
        if not path.is_dir() or path.is_symlink():
            return [_File(shown, None, why)]
        listed: list[_File] = []
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            relative = Path(folder).relative_to(path)
            for name in sorted(names):
                inner = "/".join([shown, *relative.parts, name])
                listed.append(_File(inner, None, why))
        return listed or [_File(shown + "/", None, why + " (an empty folder)")]

    def _ignore_all(self, path: Path, shown: str, owner: str, why: str) -> None:
        for item in self._all_files(path, shown, why):
            self._note(item.shown, owner, "ignored", item.skip)

    def _submission(
        self, submission_id: str, files: list[_File], who: Submitters, shown: str
    ) -> Submission:
        chosen, problem = _choose(files)
        for item in files:
            if item is chosen:
                continue
            if item.opened:
                self._note(item.shown, submission_id, "opened", item.opened)
            else:
                why = item.skip or (
                    f"not graded: {chosen.shown} was"
                    if chosen
                    else f"not graded: {problem}"
                )
                self._note(item.shown, submission_id, "ignored", why)
        base = Submission(
            submission_id, "", b"", who.people, submitted_at=who.submitted_at
        )
        if chosen is None:
            if not files:
                self._note(
                    shown or ".", submission_id, "ignored", "an empty submission"
                )
            return replace(base, problem=problem)
        if not shown:
            file_name = chosen.shown
        elif chosen.shown == shown:
            file_name = os.path.basename(shown)
        else:
            file_name = chosen.shown[len(shown) + 1 :]
        submission, detail = _read_chosen(replace(base, file_name=file_name), chosen)
        outcome = "graded" if submission.problem is None else "ignored"
        self._note(chosen.shown, submission_id, outcome, detail)
        return submission

    def _note(self, path: str, owner: str, outcome: str, detail: str) -> None:
        self.manifest.append(Entry(path, owner, outcome, detail))


def _choose(files: list[_File]) -> tuple[_File | None, str | None]:
    """The graded file among ``files``, or None and why (see the module docstring)."""
    candidates = [f for f in files if not f.skip and not f.opened and f.path]
    if not candidates:
        unopened = [
            f"{f.shown}: {f.skip}" for f in files if f.skip.startswith(_UNOPENED)
        ]
        return None, "no .py or .ipynb file was submitted" + (
            f" ({'; '.join(unopened[:3])})" if unopened else ""
        )
    for suffix in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX):
        preferred = [
            f
            for f in candidates
            if os.path.basename(f.shown).casefold() == PREFERRED_STEM + suffix
        ]
        if preferred:
            return min(preferred, key=lambda f: (f.depth, f.shown)), None
    if len(candidates) == 1:
        return candidates[0], None
    counts = {}
    for item in candidates:
        assert item.path is not None
        try:
            data = item.path.read_bytes()[: MAX_NOTEBOOK_BYTES + 1]
        except OSError:
            data = b""
        counts[item.shown] = _defined_functions(data, item.suffix == NOTEBOOK_SUFFIX)
    best = max(counts.values())
    leaders = [f for f in candidates if counts[f.shown] == best and best > 0]
    scripts = [f for f in leaders if f.suffix == PYTHON_SUFFIX]
    if len(leaders) == 1 or len(scripts) == 1:
        return (leaders if len(leaders) == 1 else scripts)[0], None
    names = ", ".join(os.path.basename(f.shown) for f in candidates[:5])
    more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
    return None, (
        f"several .py/.ipynb files and none named {PREFERRED_STEM}.py: {names}{more} "
        f"(name the one to grade {PREFERRED_STEM}.py)"
    )


def _read_chosen(base: Submission, chosen: _File) -> tuple[Submission, str]:
    """The submission of the chosen file, and the manifest's detail for that file."""
    assert chosen.path is not None
    notebook = chosen.suffix == NOTEBOOK_SUFFIX
    limit = MAX_NOTEBOOK_BYTES if notebook else MAX_PY_BYTES
    try:
        size = chosen.path.stat().st_size
        if size > limit:
            problem = f"{base.file_name} is {size} bytes, over the {limit} byte limit"
            return replace(base, problem=problem, problem_kind="too_large"), problem
        data = chosen.path.read_bytes()
    except OSError as exc:
        problem = f"{base.file_name} could not be read ({exc.strerror})"
        return replace(base, problem=problem), problem
    if not notebook:
        return replace(base, source=data), "as Python"
    try:
        script = notebook_to_script(data)
    except NotebookError as exc:
        problem = f"{base.file_name}: {exc}"
        return replace(base, problem=problem, problem_kind="notebook"), problem
    note = describe_dropped(script.dropped)
    detail = "as a notebook (its code cells, top to bottom)" + (
        f"; {len(script.dropped)} IPython-only line(s) left out"
        if script.dropped
        else ""
    )
    graded = replace(
        base,
        source=script.text.encode("utf-8"),
        line_map=script.line_map,
        notes=(note,) if note else (),
    )
    return graded, detail


def _single_top_folder(folder: Path) -> Path:
    """A zip often wraps everything in one folder; look inside it."""
    entries = [e for e in folder.iterdir() if not _hidden(e.name)]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def discover(source: Path) -> Intake:
    """Every submission under ``source`` (a folder, an archive, a .py or .ipynb file)."""
    with tempfile.TemporaryDirectory(prefix="mhsa-intake-") as scratch:
        return _Walker(Path(scratch)).intake(source)


def student_submission(
    folder: Path, submission_id: str, who: Submitters
) -> tuple[Submission, list[Entry]]:
    """The one submission in ``folder``, with the manifest of its files."""
    with tempfile.TemporaryDirectory(prefix="mhsa-intake-") as scratch:
        walker = _Walker(Path(scratch))
        return walker.submission(folder, submission_id, who), walker.manifest
