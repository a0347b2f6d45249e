"""The download endpoint: a funder's token opens only that funder's export, and every attempt is logged."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from exports.tokens import create_token
from store.exports_tables import export_downloads, funder_tokens
from store.secrets import hash_token
from tests.support.export_program import EXPORT_SETTINGS, seed, two_funders
from webhooks.exports_api import get_engine, get_min_cell, get_timezone, router


@pytest.fixture
def client(engine: Engine) -> TestClient:
    seed(engine, two_funders())
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_engine] = lambda: engine
    app.dependency_overrides[get_min_cell] = lambda: EXPORT_SETTINGS["k"]
    app.dependency_overrides[get_timezone] = lambda: EXPORT_SETTINGS["timezone"]
    return TestClient(app)


def _token(engine: Engine, funder: str) -> str:
    with engine.begin() as conn:
        return create_token(conn, funder).secret


def _log(engine: Engine) -> list[tuple[str, str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(export_downloads).order_by(export_downloads.c.id))
        return [(r.requested, r.funder, r.outcome) for r in rows]


def test_a_funder_downloads_its_own_export_as_a_zip(client: TestClient, engine: Engine) -> None:
    token = _token(engine, "funder:acme")
    response = client.get("/api/v1/exports/funders/funder:acme.zip", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert {"outcomes.xlsx", "datapackage.json", "summary.pdf", "summary.html"} <= names
    assert _log(engine) == [("funder:acme", "funder:acme", "ok")]


def test_another_funders_token_gets_the_same_404_as_a_funder_that_does_not_exist(
    client: TestClient, engine: Engine
) -> None:
    zenith = {"Authorization": f"Bearer {_token(engine, 'funder:zenith')}"}
    other = client.get("/api/v1/exports/funders/acme.zip", headers=zenith)
    missing = client.get("/api/v1/exports/funders/nobody.zip", headers=zenith)
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content  # no hint that acme exists
    assert "acme" not in other.text
    assert [o for *_, o in _log(engine)] == ["refused", "refused"]


def test_no_token_or_a_wrong_one_is_refused_and_logged(client: TestClient, engine: Engine) -> None:
    assert client.get("/api/v1/exports/funders/acme.zip").status_code == 401
    bad = client.get("/api/v1/exports/funders/acme.zip", headers={"Authorization": "Bearer igx_not-a-token"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert _log(engine) == [("funder:acme", None, "unauthorized")] * 2


def test_tokens_are_stored_only_as_hashes(engine: Engine) -> None:
    seed(engine, two_funders())
    token = _token(engine, "funder:acme")
    with engine.connect() as conn:
        stored = conn.execute(select(funder_tokens)).one()
    assert token not in {str(v) for v in stored}
    assert stored.token_hash == hash_token(token)


def test_a_revoked_token_no_longer_opens_the_export(client: TestClient, engine: Engine) -> None:
    token = _token(engine, "funder:acme")
    with engine.begin() as conn:
        from datetime import UTC, datetime

        conn.execute(funder_tokens.update().values(revoked_at=datetime.now(UTC)))
    response = client.get("/api/v1/exports/funders/acme.zip", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
