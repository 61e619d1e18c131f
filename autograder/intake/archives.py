"""Unpack the archives instructors and students hand in, without trusting them.

zip and tar (plain, gzip, bzip2, xz) are read with the standard library. Members are
written one by one by this module, never by ``extractall``: a name that is absolute, holds
``..`` or would land outside the target folder stops the archive; links, devices and other
special members are skipped and reported; the member count and the unpacked size are
bounded before anything is written, and the bytes written are counted again while writing
(a zip's declared sizes could lie).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
UNSUPPORTED_SUFFIXES = (".rar", ".7z", ".gz", ".bz2", ".xz")
CHUNK = 1 << 16


class ArchiveError(ValueError):
    """The archive cannot be unpacked safely; the message says why in one line."""


@dataclass(frozen=True)
class Bounds:
    """How much one archive may unpack to."""

    max_members: int
    max_bytes: int


@dataclass
class Unpacked:
    """What an archive held: files written under the target folder and members skipped."""

    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (member, why)


def archive_kind(name: str) -> str | None:
    """ "zip", "tar" or "unsupported" for an archive's file name (any case), else None."""
    lowered = name.lower()
    if lowered.endswith(ZIP_SUFFIXES):
        return "zip"
    if lowered.endswith(TAR_SUFFIXES):
        return "tar"
    if lowered.endswith(UNSUPPORTED_SUFFIXES):
        return "unsupported"
    return None


def archive_stem(name: str) -> str:
    """The name without its archive suffix: ``hw 3.tar.gz`` -> ``hw 3``."""
    lowered = name.lower()
    for suffix in sorted(ZIP_SUFFIXES + TAR_SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def unpack(archive: Path, into: Path, bounds: Bounds) -> Unpacked:
    """Unpack ``archive`` (zip or tar) into the empty folder ``into``."""
    import tarfile  # imported here: grading one file never pays for it

    kind = archive_kind(archive.name)
    try:
        if kind == "zip":
            return _unzip(archive, into, bounds)
        if kind == "tar":
            return _untar(archive, into, bounds)
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ArchiveError(
            f"{archive.name} is not a readable archive ({reason})"
        ) from exc
    raise ArchiveError(
        f"{archive.name}: unsupported archive type (use .zip, .tar or .tar.gz)"
    )


def _member_path(into: Path, name: str, archive: str) -> Path | None:
    """Where member ``name`` goes under ``into``; None for the archive's root (``./``)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts:
        return None
    if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise ArchiveError(f"{archive}: unsafe member name {name!r}")
    target = into.joinpath(*parts)
    if not target.resolve().is_relative_to(into.resolve()):
        raise ArchiveError(f"{archive}: member {name!r} would land outside its folder")
    return target


def _check_bounds(archive: str, count: int, size: int, bounds: Bounds) -> None:
    if count > bounds.max_members:
        raise ArchiveError(
            f"{archive} holds {count} entries, more than {bounds.max_members}"
        )
    if size > bounds.max_bytes:
        raise ArchiveError(
            f"{archive} unpacks to {size} bytes, more than {bounds.max_bytes}"
        )


def _copy(source: IO[bytes], target: Path, budget: list[int], archive: str) -> None:
    """Copy at most ``budget[0]`` bytes, charging them to the budget."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as sink:
        while chunk := source.read(CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise ArchiveError(f"{archive} unpacks to more than its declared size")
            sink.write(chunk)


def _unzip(archive: Path, into: Path, bounds: Bounds) -> Unpacked:
    result = Unpacked()
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        _check_bounds(
            archive.name, len(members), sum(m.file_size for m in members), bounds
        )
        budget = [bounds.max_bytes]
        for member in members:
            target = _member_path(into, member.filename, archive.name)
            file_type = (member.external_attr >> 16) & 0o170000
            if target is None or member.is_dir():
                if target is not None:
                    target.mkdir(parents=True, exist_ok=True)
                continue
            if file_type not in (0, 0o100000):  # a link, a device, a fifo
                result.skipped.append((member.filename, "a link or special file"))
                continue
            if member.flag_bits & 0x1:
                result.skipped.append((member.filename, "encrypted"))
                continue
            with zipped.open(member) as source:
                _copy(source, target, budget, archive.name)
            result.files += 1
    return result


def _untar(archive: Path, into: Path, bounds: Bounds) -> Unpacked:
    import tarfile

    result = Unpacked()
    with tarfile.open(archive, "r:*") as tarred:
        members = tarred.getmembers()
        _check_bounds(
            archive.name,
            len(members),
            sum(m.size for m in members if m.isfile()),
            bounds,
        )
        budget = [bounds.max_bytes]
        for member in members:
            target = _member_path(into, member.name, archive.name)
            if target is None or member.isdir():
                if target is not None:
                    target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                result.skipped.append((member.name, "a link or special file"))
                continue
            source = tarred.extractfile(member)
            if source is None:
                result.skipped.append((member.name, "unreadable member"))
                continue
            with source:
                _copy(source, target, budget, archive.name)
            result.files += 1
    return result
