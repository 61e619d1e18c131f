"""Close the kit to other users and the grader's own process to its children, and name the
command-line values a child could read anyway."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

from autograder.confine.linux import PR_SET_DUMPABLE, prctl, stat_fields

ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.")


def protect(paths: list[Path]) -> None:
    """Close ``paths`` to other users (as root) and make this process non-dumpable.

    A dropped-privilege child then cannot read them, and no child running as the
    grader's own user can read this process's ``/proc/<pid>/environ`` or ptrace it.
    A folder holding what the interpreter needs (a venv inside the kit) stays traversable
    but unlistable, the way to the interpreter stays open and everything beside it closes;
    the interpreter's venv is opened if an earlier run closed it, and other venvs (third-party
    code of another Python) are left as they are.
    """
    make_undumpable()
    if os.geteuid() != 0:
        return
    needed = [Path(p) for p in interpreter_paths()]
    for path in paths:
        _close(path, needed)


def _close(path: Path, needed: list[Path]) -> None:
    """Close ``path`` to others, except the way to (and the whole of) ``needed`` folders."""
    try:
        info = path.lstat()
    except OSError:
        return
    if stat.S_ISLNK(info.st_mode):
        return  # a link is closed by closing what it points to
    inside = [p for p in needed if p == path or path in p.parents]
    if any(p == path for p in inside):  # the interpreter's own folder: reachable
        path.chmod(stat.S_IMODE(info.st_mode) | stat.S_IROTH | stat.S_IXOTH)
        return
    if (path / "pyvenv.cfg").is_file():
        return  # another venv (a second Python's): third-party code, left as it is
    closed = info.st_mode & ~(stat.S_IRWXO | stat.S_IRWXG)
    if not inside or not stat.S_ISDIR(info.st_mode):
        path.chmod(stat.S_IMODE(closed))
        return
    path.chmod(stat.S_IMODE(closed | stat.S_IXOTH))  # traverse only: no listing
    for entry in path.iterdir():
        _close(entry, inside)


def make_undumpable() -> None:
    """Make ``/proc/<this pid>`` root-owned: no same-uid reading of environ, no ptrace."""
    prctl(PR_SET_DUMPABLE, 0)


def interpreter_paths() -> tuple[str, ...]:
    """Folders the interpreter needs (its prefixes, the venv's), symlinks resolved or not."""
    candidates: list[str] = []
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        candidates += [os.path.abspath(prefix), os.path.realpath(prefix)]
    executable = os.path.realpath(sys.executable)
    candidates.append(os.path.dirname(os.path.dirname(executable)))
    return tuple(sorted(set(candidates)))


def exposed_assignments(pid: int | None = None) -> list[str]:
    """Names of ``NAME=value`` words on the command lines of this process and its
    ancestors (``make grade TOKEN=...``).

    Without a PID namespace, every user reads every ``/proc/<pid>/cmdline``: in uid mode
    student code could read those values. The grader cannot hide another process's
    command line, so it names them for staff (never the values).
    """
    names: list[str] = []
    pid = os.getpid() if pid is None else pid
    while pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as source:
                words = source.read().split(b"\0")
        except OSError:
            break
        for word in words:
            text = word.decode("utf-8", "replace")
            if ASSIGNMENT.match(text):
                names.append(text.split("=", 1)[0])
        fields = stat_fields(pid)
        pid = int(fields[1]) if fields and fields[1].isdigit() else 0
    return sorted(set(names))
