"""Choose the confinement mode: probe once per process which works here, strongest first,
by really starting Python with numpy through it: ``jail``, then ``uid`` (as root), then
``plain``. As root, plain mode is refused rather than run student code as root.
"""

from __future__ import annotations

import functools
import os
import sys
import time

from autograder.config import Limits
from autograder.confine.jail import JAIL_TOOLS, unshare_prefix
from autograder.confine.linux import tool
from autograder.confine.mode import Confinement
from autograder.confine.process import ConfinedProcess
from autograder.confine.reachability import uid_mode_obstacle
from autograder.confine.uid import new_sandbox_uid

PROBE_SECONDS = 30.0


class SandboxUnavailable(RuntimeError):
    """As root, neither the jail nor the uid drop works: grading would run code as root."""


def _probe(confinement: Confinement) -> str | None:
    """Start Python with numpy under ``confinement``; None when that works, else why not."""
    code = "import numpy, os; print('probe-ok', os.getuid())"
    uid = new_sandbox_uid() if confinement.drop_privileges else None
    try:
        child = ConfinedProcess(
            b"", [], Limits(), confinement=confinement, python_code=code, uid=uid
        )
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        deadline = time.monotonic() + PROBE_SECONDS
        while child.exit_status() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        child.kill()
    text = child.drain.text()
    if uid is not None:
        expected = uid
    else:
        expected = 0 if confinement.jail else os.getuid()  # root of its user namespace
    if child.exit_status() == 0 and f"probe-ok {expected}" in text:
        return None
    return f"exit status {child.exit_status()}: {text.strip()[-300:]}"


@functools.lru_cache(maxsize=1)
def detect_confinement() -> Confinement:
    """Probe once which mode works here: jail, then uid (as root), then plain.

    As root, plain mode is refused (``SandboxUnavailable``) unless
    ``MHSA_ALLOW_UNCONFINED=1``: it would run student code with the grader's privileges.
    """
    is_root = os.geteuid() == 0
    notes: list[str] = []
    has_tools = all(tool(t) for t in JAIL_TOOLS)
    if os.environ.get("MHSA_NO_NAMESPACES") == "1":
        notes.append("namespaces disabled by MHSA_NO_NAMESPACES=1")
    elif not has_tools:
        notes.append("unshare, setpriv, mount or chroot is missing")
    else:
        jail = Confinement(is_root, unshare_prefix(not is_root), "jail")
        problem = _probe(jail)
        if problem is None:
            return jail
        notes.append(f"jail refused ({problem})")
    if is_root and tool("setpriv"):
        uid_mode = Confinement(True, (), "uid", "; ".join(notes))
        problem = uid_mode_obstacle() or _probe(uid_mode)
        if problem is None:
            return uid_mode
        notes.append(f"uid drop refused ({problem})")
    if is_root and os.environ.get("MHSA_ALLOW_UNCONFINED") != "1":
        # Plain mode as root would run student code as root: refuse rather than grade.
        raise SandboxUnavailable(
            "student code cannot be confined here (" + "; ".join(notes) + "); "
            "make the interpreter reachable by other users or allow namespaces, "
            "or set MHSA_ALLOW_UNCONFINED=1 to run it as root anyway"
        )
    plain = Confinement(False, (), "plain", "; ".join(notes))
    print(
        f"mhsa sandbox: weakest confinement only ({'; '.join(notes)})",
        file=sys.stderr,
    )
    return plain
