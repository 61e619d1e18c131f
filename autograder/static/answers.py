"""A tool's answers kept on disk, one small JSON file per text: a regrade, or the same file
graded again, needs no black or mypy process at all (and the class reports no tokeniser).

A tool's answer depends only on the text and on the tool, so the key hashes the text with
a salt naming everything else: the interpreter, the installed files of the packages that
answer (their path and modification time, and that of the folder they are installed in,
so another version, or a stub package added beside them, never answers from here) and
the kit's own files that compute the answer or read it from the tool. Only complete
answers are kept (never a timeout or a crash), written atomically; a reader checks an
answer's shape before it trusts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any


def _installed(package: str) -> bytes:
    """Where ``package`` is installed and when, and when anything was last installed or
    removed beside it (a stub package changes mypy's verdicts), found without importing
    it."""
    spec = importlib.util.find_spec(package)
    origin = spec.origin if spec is not None and spec.origin else ""
    stamps = [os.stat(path).st_mtime_ns for path in _package_paths(origin)]
    return f"{package}\0{origin}\0{stamps}\0".encode()


def _package_paths(origin: str) -> list[str]:
    """The package's file and the folder holding the package (its site-packages)."""
    if not origin:
        return []
    return [origin, os.path.dirname(os.path.dirname(origin))]


class AnswerCache:
    """Answers kept in ``folder``, for the tools of ``packages`` as the kit's ``files``
    read them."""

    def __init__(
        self, folder: Path, packages: tuple[str, ...], files: tuple[Path, ...]
    ) -> None:
        self.folder = folder
        self._salt = f"{sys.executable}\0".encode()
        self._salt += b"".join(_installed(package) for package in packages)
        self._salt += b"".join(path.read_bytes() + b"\0" for path in files)

    def _path(self, text: str) -> Path:
        digest = hashlib.sha256(self._salt)
        digest.update(text.encode("utf-8", "surrogatepass"))
        return self.folder / f"{digest.hexdigest()}.json"

    def get(self, text: str) -> Any:
        """The answer kept for ``text``, or None."""
        try:
            return json.loads(self._path(text).read_text())
        except (OSError, ValueError):
            return None

    def put(self, text: str, answer: Any) -> None:
        """Keep ``answer`` for ``text`` (a failure to write only loses the shortcut)."""
        path = self._path(text)
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(answer))
            os.replace(partial, path)
