"""Attack: leave things behind that outlive the child and the batch, where no file sweep
looks: a 1 GiB SysV shared-memory segment (outside the address-space limit), a SysV
message queue and semaphore set, a POSIX message queue, files in /run/lock. A later
submission of a colluding student could read them; a full machine fails everyone after.

Contained: in the jail they live in its own IPC namespace and tmpfs, gone with it. In uid
mode the sweep, running as the submission's own uid, removes its SysV objects and its
files in /run/lock; ``RLIMIT_MSGQUEUE = 0`` stops POSIX queues from being made at all.
"""

import ctypes
import os

import numpy as np

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
made = [
    libc.shmget(0, 1 << 30, IPC_CREAT | 0o666),
    libc.msgget(0, IPC_CREAT | 0o666),
    libc.semget(0, 4, IPC_CREAT | 0o666),
]
try:
    mq_open = libc.mq_open
except AttributeError:
    mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
made.append(mq_open(b"/MHSA_MARKER", os.O_CREAT | os.O_RDWR, 0o666, None))
for folder in ("/run/lock", "/var/lock"):
    try:
        with open(os.path.join(folder, "MHSA_MARKER-lock"), "w") as sink:
            sink.write("left behind")
    except OSError:
        pass
print("made", made)


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    junk = np.zeros(1)
    return junk, junk, junk
