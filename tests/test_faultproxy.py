"""The fault-injecting TCP proxy of the production tests (tests/faultproxy.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from tests.faultproxy import FaultProxy


@contextlib.contextmanager
def echo_server() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(connection: socket.socket) -> None:
        with connection:
            while data := connection.recv(1024):
                connection.sendall(data)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def roundtrip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    received = b""
    while len(received) < len(data):
        chunk = sock.recv(1024)
        if not chunk:
            break
        received += chunk
    return received


def closed(sock: socket.socket) -> bool:
    try:
        sock.sendall(b"x")
        return sock.recv(1024) == b""
    except OSError:
        return True


def test_passes_bytes_then_cuts_open_and_new_connections_then_restores() -> None:
    with echo_server() as port, FaultProxy("127.0.0.1", port) as proxy:
        before = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert roundtrip(before, b"hello") == b"hello"

        proxy.cut()
        assert closed(before)
        during = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert closed(during)

        proxy.restore()
        after = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert roundtrip(after, b"again") == b"again"
        for sock in (before, during, after):
            sock.close()
