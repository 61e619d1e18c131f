"""Run as a sandbox uid after its submission (uid mode): end everything that uid left behind.

It kills every process of the uid (``kill(-1)`` reaches exactly those), then removes the
files it owns in the world-writable folders named on the command line and the SysV IPC
objects it created or owns. It runs as the sandbox uid itself, never as root: a path a
colluding submission swaps for a symlink can only lead it where that uid could already
write, so no removal here can touch anything the submission could not have removed itself.

Standard library only, nothing from the grader: ``uid.sweep_uid`` passes this file's
text to ``python -I -S -c`` with the folders as arguments.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import stat
import sys
import time

IPC_RMID = 0
ROUNDS = 200  # kill(-1) rounds: a fork bomb's last forks land between two rounds
MAX_ENTRIES = (
    100_000  # folder entries looked at in all, so a maze cannot stall the sweep
)
SYSV = (
    ("shm", "shmid", "shmctl"),
    ("msg", "msqid", "msgctl"),
    ("sem", "semid", "semctl"),
)


def others_alive(uid: int) -> bool:
    """Whether a live process other than this one runs as ``uid``."""
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as source:
                state = source.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z":
            return True
    return False


def kill_all(uid: int) -> None:
    """SIGKILL every process of this uid but this one, until none is left."""
    for _ in range(ROUNDS):
        try:
            os.kill(-1, signal.SIGKILL)  # Linux spares the caller
        except ProcessLookupError:
            pass
        if not others_alive(uid):
            return
        time.sleep(0.005)


def remove(path: str, info: os.stat_result) -> None:
    """Remove one entry this uid owns; a folder with everything in it."""
    try:
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
            return
        os.chmod(path, 0o700)  # it may have closed its own folder to itself
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
        shutil.rmtree(path, ignore_errors=True)
        if os.path.lexists(path):  # deeper folders closed to their owner
            for root, folders, _ in os.walk(path):
                for folder in folders:
                    os.chmod(os.path.join(root, folder), 0o700)
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        return


def remove_files(uid: int, bases: list[str]) -> None:
    """Delete what ``uid`` owns in ``bases`` and in world-writable folders below them."""
    pending = list(bases)
    seen = 0
    while pending and seen < MAX_ENTRIES:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid == uid:
                remove(entry.path, info)
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH:
                pending.append(entry.path)


def remove_ipc(uid: int) -> None:
    """Remove the SysV shared memory, message queues and semaphores of ``uid``."""
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, id_column, call in SYSV:
        try:
            with open(f"/proc/sysvipc/{kind}") as source:
                header, *rows = [line.split() for line in source]
        except (OSError, ValueError):
            continue
        where = {name: header.index(name) for name in (id_column, "uid", "cuid")}
        for row in rows:
            try:
                owners = {int(row[where["uid"]]), int(row[where["cuid"]])}
                number = int(row[where[id_column]])
            except (IndexError, ValueError):
                continue
            if uid in owners:
                if kind == "sem":
                    libc.semctl(number, 0, IPC_RMID)
                else:
                    getattr(libc, call)(number, IPC_RMID, None)


def main() -> None:
    """``python -I -S -c <this file> <folder>...`` as the uid to sweep."""
    uid = os.getuid()
    if uid == 0:  # never as root: that is the point of this module
        sys.exit("the sweeper must run as the sandbox uid")
    kill_all(uid)
    remove_files(uid, sys.argv[1:])
    remove_ipc(uid)
    kill_all(uid)  # anything started by a process that died last


if __name__ == "__main__":
    main()
