"""Fixtures for the web service: a migrated database and an app built by create_app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service import create_app
from settings import load_settings
from tests.conftest import migrated_engine
from tests.web.helpers import SOURCES


@pytest.fixture
def web_engine(database_url: str, migrated_sqlite: Path) -> Iterator[Engine]:
    engine = migrated_engine(database_url, migrated_sqlite)
    yield engine
    engine.dispose()


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(web_engine: Engine) -> Iterator[AppFactory]:
    clients: list[TestClient] = []

    def build(
        sources: dict[str, Any] | None = None, intake_clock: Callable[[], float] | None = None, **settings: Any
    ) -> TestClient:
        config = load_settings(
            database_url=str(web_engine.url.render_as_string(hide_password=False)),
            intake_sources=SOURCES if sources is None else sources,
            **settings,
        )
        client = TestClient(create_app(config, engine=web_engine, intake_clock=intake_clock))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()
