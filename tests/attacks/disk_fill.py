"""Attack: fill the disk: files as large as allowed, as many as possible, in its folder,
$TMPDIR, /tmp, /var/tmp and /dev/shm.

Contained: RLIMIT_FSIZE caps each file; in the jail every writable place is one tmpfs with a
size cap that vanishes with the child; under a dropped uid its leftovers in world-writable
folders are deleted after it dies.
"""

import errno
import os
import tempfile

import numpy as np

BLOCK = b"\0" * (1 << 20)
written = 0
for folder in {os.getcwd(), tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}:
    for index in range(3):  # 3 files of up to 64 MiB each, per folder: each stops at the
        # file-size limit (more would only measure the disk, within a 2 s import deadline)
        try:
            with open(os.path.join(folder, f"fill-{index}"), "wb") as sink:
                for _ in range(64):
                    sink.write(BLOCK)
                    written += len(BLOCK)
        except OSError as error:
            if error.errno != errno.EFBIG:  # the file-size limit: try the next file
                break
print("wrote", written, "bytes")


def check() -> None:
    return None


def create_qkv(
    inputs: np.ndarray, weights_q: np.ndarray, weights_k: np.ndarray, weights_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    check()
    junk = np.zeros(1)
    return junk, junk, junk


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float
) -> np.ndarray:
    check()
    return np.zeros(1)


def multi_head_attention(
    inputs: np.ndarray,
    weights_q: np.ndarray,
    weights_k: np.ndarray,
    weights_v: np.ndarray,
    num_heads: int,
) -> np.ndarray:
    check()
    return np.zeros(1)
