"""Can another user reach the interpreter and the temp folder? uid mode needs both.

In uid mode the student's code runs as a throwaway uid that owns nothing: it must be able
to enter every folder on the way to the interpreter, its standard library, the venv and
the temp folder holding its private working folder. pyenv under a 0700 home folder fails
that. This is a cheap explicit check of each path's ancestors (the sandbox's probe, which
really starts Python as that uid, runs afterwards), so uid mode can refuse with the reason.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path


def closed_folder(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (itself included when it is a folder) that
    other users cannot enter, or None when they can reach it."""
    resolved = path.resolve()
    folders = [*reversed(resolved.parents)]
    if resolved.is_dir():
        folders.append(resolved)
    for folder in folders:
        try:
            mode = folder.stat().st_mode
        except OSError:
            return folder
        if not mode & stat.S_IXOTH:
            return folder
    return None


def uid_mode_obstacle() -> str | None:
    """Why a throwaway uid could not run this interpreter here, or None when it can."""
    needed = {
        "the interpreter": Path(sys.executable),
        "the interpreter's prefix": Path(sys.base_prefix),
        "the venv": Path(sys.prefix),
        "the temp folder": Path(tempfile.gettempdir()),
    }
    for role, path in needed.items():
        folder = closed_folder(path)
        if folder is not None:
            mode = stat.S_IMODE(os.stat(folder).st_mode) if folder.exists() else 0
            real = path.resolve()
            shown = f"{path} ({real})" if real != path else str(path)
            return (
                f"{role} {shown} sits in {folder}, which other users cannot enter "
                f"(mode {mode:04o}); run the kit from an interpreter and a temp folder "
                "other users can reach"
            )
    return None
