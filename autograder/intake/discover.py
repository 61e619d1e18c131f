"""Find submissions: a folder of ``<id>.py`` or ``<id>.ipynb`` files, a folder per student, an
archive of either, or Gradescope's "Export Submissions" (zip or unpacked folder).

Every file found is either graded or listed as ignored with the reason (``manifest``).
Rules, in the order they apply:

- At the top of SUBMISSIONS, each ``.py`` or ``.ipynb`` file, each folder and each archive
  (``.zip``, ``.tar``, ``.tar.gz``, ...) is one submission; hidden and system files
  (``.DS_Store``, ``__MACOSX``, ``.ipynb_checkpoints``), links and other files are ignored.
  A Gradescope export is recognised by its ``submission_metadata.yml``, which names each
  ``submission_<id>`` folder's submitters.
- Inside a submission (any depth, archives opened up to ``MAX_NESTED_ARCHIVES`` deep), one
  file is graded (``choose``: ``mhsa.py`` first). A submission with no such file, or with a
  tie, still gets a row, with the reason.
- Ids come from the top-level names alone (``ids``), so regrading the same folder gives the
  same ids.

Files are read into memory here; the grader never runs anything from SUBMISSIONS.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

from autograder.intake.archives import ArchiveError, Bounds, archive_kind, unpack
from autograder.intake.choose import UNOPENED, FoundFile, choose_graded, read_chosen
from autograder.intake.ids import assign_ids
from autograder.intake.manifest import Entry
from autograder.intake.roster import (
    GRADESCOPE_EXPORT_METADATA,
    Submitters,
    export_metadata,
)
from autograder.intake.submission import (
    NOTEBOOK_SUFFIX,
    PYTHON_SUFFIX,
    Intake,
    IntakeError,
    Submission,
)

MAX_NESTED_ARCHIVES = 2  # an archive in a submission, and one more inside it
TOP_BOUNDS = Bounds(max_members=20_000, max_bytes=1 << 30)
NESTED_BOUNDS = Bounds(max_members=2_000, max_bytes=64 << 20)
NESTED_BUDGET = 1 << 30  # bytes all archives inside submissions may unpack to together
SYSTEM_NAMES = frozenset({"__macosx", "__pycache__", "thumbs.db", "desktop.ini"})
_UNSUPPORTED = "an archive type the grader cannot open (use .zip or .tar.gz)"
LOOKED_FOR = (
    "looked for <id>.py and <id>.ipynb files, <id>/ folders and .zip/.tar.gz archives "
    "holding one, and Gradescope's Export Submissions (submission_metadata.yml)"
)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.casefold() in SYSTEM_NAMES


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
                files = [FoundFile(shown, path)]
            found.append(self._submission(submission_id, files, who, shown))
        return Intake(found, sorted(self.manifest, key=lambda entry: entry.path))

    # --- inside one submission -------------------------------------------------------

    def submission(
        self, folder: Path, submission_id: str, who: Submitters
    ) -> Submission:
        """The one submission in ``folder`` (``run_autograder``'s submission folder)."""
        files = self._collect(folder, "", 0) if folder.is_dir() else []
        return self._submission(submission_id, files, who, "")

    def _collect(self, folder: Path, shown: str, depth: int) -> list[FoundFile]:
        """Every file under ``folder`` (archives opened), in name order."""
        files: list[FoundFile] = []
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            return [
                FoundFile(shown or ".", None, f"unreadable folder ({exc.strerror})")
            ]
        for entry in entries:
            here = f"{shown}/{entry.name}" if shown else entry.name
            path = Path(entry.path)
            if entry.is_symlink():
                files.append(FoundFile(here, None, "a symbolic link (not followed)"))
            elif _hidden(entry.name):
                files += self._all_files(path, here, "a hidden or system file")
            elif entry.is_dir():
                files += self._collect(path, here, depth)
            elif not entry.is_file():
                files.append(FoundFile(here, None, "not a regular file"))
            elif archive_kind(entry.name) in ("zip", "tar"):
                files += self._open_archive(path, here, depth)
            elif archive_kind(entry.name) == "unsupported":
                files.append(FoundFile(here, None, _UNSUPPORTED))
            elif path.suffix.lower() in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX):
                files.append(FoundFile(here, path))
            else:
                files.append(FoundFile(here, None, "not a .py or .ipynb file"))
        return files

    def _open_archive(self, archive: Path, shown: str, depth: int) -> list[FoundFile]:
        if depth >= MAX_NESTED_ARCHIVES:
            return [FoundFile(shown, None, "an archive nested too deep to be opened")]
        if self.budget <= 0:
            return [
                FoundFile(shown, None, "not opened: archives used up the unpack budget")
            ]
        into = Path(tempfile.mkdtemp(dir=self.scratch))
        bounds = Bounds(
            NESTED_BOUNDS.max_members, min(NESTED_BOUNDS.max_bytes, self.budget)
        )
        try:
            unpacked = unpack(archive, into, bounds)
        except ArchiveError as exc:
            return [FoundFile(shown, None, f"{UNOPENED}: {exc}")]
        self.budget -= sum(p.stat().st_size for p in into.rglob("*") if p.is_file())
        files = [
            FoundFile(shown, None, opened=f"archive holding {unpacked.files} file(s)")
        ]
        files += [
            FoundFile(f"{shown}/{member}", None, f"{why}, inside the archive")
            for member, why in unpacked.skipped
        ]
        return files + self._collect(into, shown, depth + 1)

    def _all_files(self, path: Path, shown: str, why: str) -> list[FoundFile]:
        """``path`` and, for a folder, every file under it, all with the same reason."""
        if not path.is_dir() or path.is_symlink():
            return [FoundFile(shown, None, why)]
        listed: list[FoundFile] = []
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            relative = Path(folder).relative_to(path)
            for name in sorted(names):
                inner = "/".join([shown, *relative.parts, name])
                listed.append(FoundFile(inner, None, why))
        return listed or [FoundFile(shown + "/", None, why + " (an empty folder)")]

    def _ignore_all(self, path: Path, shown: str, owner: str, why: str) -> None:
        for item in self._all_files(path, shown, why):
            self._note(item.shown, owner, "ignored", item.skip)

    def _submission(
        self, submission_id: str, files: list[FoundFile], who: Submitters, shown: str
    ) -> Submission:
        chosen, problem = choose_graded(files)
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
        submission, detail = read_chosen(replace(base, file_name=file_name), chosen)
        outcome = "graded" if submission.problem is None else "ignored"
        self._note(chosen.shown, submission_id, outcome, detail)
        return submission

    def _note(self, path: str, owner: str, outcome: str, detail: str) -> None:
        self.manifest.append(Entry(path, owner, outcome, detail))


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
