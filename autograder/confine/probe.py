"""Choose the confinement mode: probe once per process which works here, strongest first,
by really starting Python with numpy through it: ``jail``, then ``uid`` (as root), then
``plain``. As root, plain mode is refused rather than run student code as root.

A mode is first probed through its zygote (``forked``): a child forked and confined as every
submission's will be, which leaves the zygote warm for them (the probe then costs a fork,
not an interpreter's start). Should the zygote fail, staff are told, the mode is probed
again on the start-up path, and its children start afresh.
"""

from __future__ import annotations

import functools
import os
import sys
import time

from autograder.config import Limits
from autograder.confine.forked import probe_forked, zygote_failed
from autograder.confine.jail import JAIL_TOOLS, unshare_prefix
from autograder.confine.linux import tool
from autograder.confine.mode import Confinement, SandboxUnavailable
from autograder.confine.process import ConfinedProcess
from autograder.confine.reachability import uid_mode_obstacle
from autograder.confine.uid import new_sandbox_uid

PROBE_SECONDS = 30.0


def _probe(confinement: Confinement) -> str | None:
    """Start Python with numpy under ``confinement``; None when that works, else why not.
    Through the zygote first, on the start-up path when that fails."""
    uid = new_sandbox_uid() if confinement.drop_privileges else None
    expected = _expected_uid(confinement, uid)
    problem = probe_forked(confinement, uid, expected)
    if problem is None:
        return None
    if problem:  # a zygote there was, and it failed: its mode's children start afresh
        zygote_failed(confinement, f"the probe through it failed ({problem})")
    return _probe_fresh(confinement, uid, expected)


def _expected_uid(confinement: Confinement, uid: int | None) -> int:
    """The uid a probe child must report: its throwaway uid, root of its own user
    namespace (an ordinary user's jail), or the grader's own (plain)."""
    if uid is not None:
        return uid
    return 0 if confinement.jail else os.getuid()


def _probe_fresh(
    confinement: Confinement, uid: int | None, expected: int
) -> str | None:
    """The start-up path: a fresh confined Python imports numpy and says who it is."""
    code = "import numpy, os; print('probe-ok', os.getuid())"
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
