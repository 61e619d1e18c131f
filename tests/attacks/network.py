"""Attack: open network connections: to the internet (TCP and UDP), to a port the grader's
machine listens on (127.0.0.1), by DNS, and through abstract Unix sockets.

Contained: the jail has its own network namespace with no usable interface (not even
loopback); abstract Unix sockets are per network namespace.
"""

import socket

import numpy as np

PORT = int("MHSA_PORT")
evidence: list[str] = []
for host, port in (("1.1.1.1", 53), ("8.8.8.8", 443), ("127.0.0.1", PORT)):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            evidence.append(f"tcp {host}:{port}")
    except OSError:
        pass
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"hello", ("1.1.1.1", 53))
        evidence.append("udp sent")
except OSError:
    pass
try:
    socket.getaddrinfo("example.com", 80)
    evidence.append("dns")
except OSError:
    pass
for name in ("\0/tmp/.X11-unix/X0", "\0/org/freedesktop/systemd1/notify"):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
            unix.settimeout(0.5)
            unix.connect(name)
            evidence.append("abstract " + name[1:])
    except OSError:
        pass


def check() -> None:
    if evidence:
        raise RuntimeError("BREACH " + " ".join(evidence))


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
