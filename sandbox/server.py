"""Serve the sandbox over HTTPS with uvicorn, in the foreground (the CLI) or on a background thread (tests, bench)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from sandbox.tls import TlsFiles, make_tls_files


def _config(app: Any, tls: TlsFiles, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        ssl_certfile=str(tls.cert_chain),
        ssl_keyfile=str(tls.private_key),
        log_level=log_level,
        lifespan="off",
        ws="none",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this.  Without it each answer waited ~40 ms on Nagle + delayed ACK, which
    # made one-call-per-record clients look far slower than they are (and the bench's ratios dishonest).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


@dataclass
class RunningSandbox:
    """A sandbox serving on a background thread; `stop()` ends it."""

    app: Any
    url: str  # https://127.0.0.1:PORT
    tls: TlsFiles
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    @property
    def state(self) -> Any:
        return self.app.state

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()  # uvicorn leaves sockets it was handed to their owner

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(app: Any, tls_dir: Path, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Bind first (port 0 = any free port, no race), then serve on a daemon thread until `stop()`."""
    tls = make_tls_files(tls_dir)
    sock = bind(host, port)
    server = uvicorn.Server(_config(app, tls, "critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    actual = sock.getsockname()[1]
    return RunningSandbox(app=app, url=f"https://{host}:{actual}", tls=tls, server=server, thread=thread, sock=sock)


def serve_forever(app: Any, tls: TlsFiles, host: str, port: int, log_level: str = "info") -> None:
    sock = bind(host, port)
    uvicorn.Server(_config(app, tls, log_level)).run(sockets=[sock])
