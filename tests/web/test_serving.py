"""While the service is serving, the garbage collector stays out of the request path; afterwards all is as before."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service import GC_YOUNG_THRESHOLD, create_app
from settings import load_settings


def test_serving_freezes_the_startup_heap_and_restores_the_collector_on_shutdown(web_engine: Engine) -> None:
    app = create_app(
        load_settings(database_url=web_engine.url.render_as_string(hide_password=False)), engine=web_engine
    )
    before = gc.get_threshold()
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 10_000  # the libraries' objects, out of every collection's way
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
