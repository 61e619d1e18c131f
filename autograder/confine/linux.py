"""The Linux calls the boundary relies on: processes as ``/proc`` shows them, SIGKILL,
``prctl`` and the system's own tools."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import time

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def tool(name: str) -> str | None:
    """Absolute path of a system tool (sbin included: chroot lives there)."""
    return shutil.which(name, path=SYSTEM_PATH) or shutil.which(name)


def prctl(option: int, value: int) -> bool:
    """Set one of this process's ``prctl`` options; False where the call is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state is first)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as source:
            raw = source.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].decode("ascii", "replace").split()


def cpu_seconds_of(pid: int) -> float | None:
    """CPU time (user and system) process ``pid`` has used, None once it is gone."""
    fields = stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(parent: int, zombies: bool = False) -> list[int]:
    """Processes whose parent is ``parent`` (zombies only when asked)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields and fields[1] == str(parent) and (zombies or fields[0] != "Z"):
                found.append(int(entry.name))
    return found


def processes_of(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real uid is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
        except OSError:
            continue
        fields = stat_fields(int(entry.name))
        if fields and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def wait_gone(pid: int, seconds: float) -> bool:
    """Wait until ``pid`` is a zombie or gone (a namespace's init: its namespace is empty)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fields = stat_fields(pid)
        if fields is None or fields[0] == "Z":
            return True
        time.sleep(0.005)
    return False
