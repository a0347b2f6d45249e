"""The service under a real uvicorn on 127.0.0.1, in a thread of the test process.

For what the in-process TestClient cannot show: uvicorn's own access log, and a real browser's requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.e2e.process import free_port


@contextmanager
def serving(app: FastAPI, *, access_log: bool = True) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL.  `log_config=None` leaves logging to the test
    (caplog sees uvicorn's access log lines)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=access_log, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
