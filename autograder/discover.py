"""Find submissions: a folder of ``<id>.py``, a folder per student, a zip of either, or
Gradescope's "Export Submissions" (zip or unpacked folder).

Whatever the layout, every submission found becomes one ``Submission`` (a row in the
gradebook), including folders that hold no usable file: those carry a ``problem``. A
Gradescope export is recognised by its ``submission_metadata.yml``: each ``submission_<id>/``
folder is one submission, and the metadata names its submitters for the gradebook.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

PREFERRED_NAME = "mhsa.py"
GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_FILE_BYTES = 512 << 10
MAX_ZIP_BYTES = 256 << 20
MAX_ZIP_MEMBERS = 20_000


@dataclass(frozen=True)
class Submission:
    """One student's file, read into memory (the grader never runs it from its folder)."""

    id: str
    file_name: str
    source: bytes
    student: str = ""
    problem: str | None = None  # why no file could be graded


def safe_id(name: str) -> str:
    """A name usable as a folder in OUT: letters, digits, dash, underscore.

    No dots, so an id can never collide with the batch's own files (``gradebook.csv``,
    ``summary.md``, ...), and no leading dash, so no id reads as an option or a formula.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-") or "submission"
    return cleaned[:100]


def _read(path: Path) -> tuple[bytes, str | None]:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return b"", f"{path.name} is {size} bytes, over the {MAX_FILE_BYTES} byte limit"
    return path.read_bytes(), None


def pick_file(folder: Path) -> tuple[Path | None, str | None]:
    """The one .py file of a student's folder, preferring ``mhsa.py``."""
    candidates = sorted(
        p
        for p in folder.rglob("*.py")
        if p.is_file()
        and not p.is_symlink()
        and not any(
            part.startswith((".", "__")) for part in p.relative_to(folder).parts
        )
    )
    preferred = [p for p in candidates if p.name == PREFERRED_NAME]
    if preferred:
        return min(preferred, key=lambda p: len(p.parts)), None
    if len(candidates) == 1:
        return candidates[0], None
    if not candidates:
        return None, "no .py file was submitted"
    names = ", ".join(p.name for p in candidates[:5])
    return None, f"several .py files and none named {PREFERRED_NAME}: {names}"


def from_folder(root: Path, students: dict[str, str] | None = None) -> list[Submission]:
    """Submissions in ``root``: ``<id>.py`` files and ``<id>/`` folders, sorted by id."""
    students = students or {}
    found: list[Submission] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "__")) or entry.is_symlink():
            continue
        if entry.is_file() and entry.suffix == ".py":
            source, problem = _read(entry)
            found.append(
                Submission(safe_id(entry.stem), entry.name, source, "", problem)
            )
        elif entry.is_dir():
            found.append(
                from_student_folder(
                    entry, safe_id(entry.name), students.get(entry.name, "")
                )
            )
    return _unique(found)


def from_student_folder(
    folder: Path, submission_id: str, student: str = ""
) -> Submission:
    """One student's folder (any layout inside) as one submission."""
    path, problem = pick_file(folder)
    source, file_name = b"", ""
    if path is not None:
        source, problem = _read(path)
        file_name = path.name
    return Submission(submission_id, file_name, source, student, problem)


def _person(entry: object) -> str:
    """``Name <email>`` for one submitter record of Gradescope's metadata."""
    if not isinstance(entry, dict):
        return ""
    name, email = (
        " ".join(str(entry.get(key) or "").split()) for key in (":name", ":email")
    )
    name = "".join(c for c in name if c.isprintable())
    email = "".join(c for c in email if c.isprintable())
    if name and email:
        return f"{name} <{email}>"
    return name or email


def gradescope_students(metadata: Path) -> dict[str, str]:
    """Folder name -> its submitters (``Name <email>``, ``; ``-separated for a group).

    Gradescope's export metadata maps each ``submission_<id>`` folder to a record whose
    ``:submitters:`` list holds ``:name:``, ``:sid:`` and ``:email:``. It is read with
    ``yaml.safe_load`` only; unreadable metadata costs the student column, never a grade.
    """
    try:
        data = yaml.safe_load(metadata.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        print(
            f"warning: {metadata.name} could not be read ({type(exc).__name__}); "
            "the gradebook's student column stays empty",
            file=sys.stderr,
        )
        return {}
    if not isinstance(data, dict):
        return {}
    students: dict[str, str] = {}
    for folder, record in data.items():
        submitters = record.get(":submitters") if isinstance(record, dict) else None
        if not isinstance(submitters, list):
            continue
        people = [_person(entry) for entry in submitters]
        students[str(folder)] = "; ".join(p for p in people if p)
    return students


def _unique(found: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    unique = []
    for sub in found:
        count = seen.get(sub.id, 0)
        seen[sub.id] = count + 1
        if count:
            sub = Submission(
                f"{sub.id}-{count + 1}",
                sub.file_name,
                sub.source,
                sub.student,
                sub.problem,
            )
        unique.append(sub)
    return unique


def extract_zip(archive: Path, into: Path) -> None:
    """Unpack ``archive`` refusing absolute paths, ``..``, links and zip bombs."""
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ValueError(f"{archive.name} holds {len(members)} entries, too many")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise ValueError(
                f"{archive.name} unpacks to more than {MAX_ZIP_BYTES} bytes"
            )
        for member in members:
            target = (into / member.filename).resolve()
            if not target.is_relative_to(into.resolve()) or member.filename.startswith(
                "/"
            ):
                raise ValueError(f"{archive.name}: unsafe path {member.filename!r}")
            is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
            if is_link:
                continue
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)


def discover(source: Path) -> list[Submission]:
    """Every submission under ``source`` (a folder or a .zip)."""
    if source.is_file() and source.suffix == ".zip":
        with tempfile.TemporaryDirectory(prefix="mhsa-unzip-") as folder:
            extract_zip(source, Path(folder))
            return discover(_single_top_folder(Path(folder)))
    if source.is_file() and source.suffix == ".py":
        data, problem = _read(source)
        return [Submission(safe_id(source.stem), source.name, data, "", problem)]
    if not source.is_dir():
        raise FileNotFoundError(f"no folder, .zip or .py at {source}")
    metadata = source / GRADESCOPE_METADATA
    if metadata.is_file():
        return from_folder(source, gradescope_students(metadata))
    return from_folder(source)


def _single_top_folder(folder: Path) -> Path:
    """A zip often wraps everything in one folder; look inside it."""
    entries = [e for e in folder.iterdir() if not e.name.startswith((".", "__"))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder
