"""Bad bytes sent to the ingest API and the download endpoint get a 4xx naming the line, never a 500.

From issue 13: a NUL byte, a Latin-1 byte or a cell over the csv field limit made the ingest API answer 500
and log the body; `GET /api/v1/exports/funders/x%00.zip` answered 500 on Postgres and was not recorded.
"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from exports.tokens import create_token
from store.api_keys import ApiKeyRepository
from store.exports_tables import export_downloads
from store.unit_of_work import UnitOfWork

HEADER = b"key,name,kind\n"


def orgs_body(bad_name: bytes) -> bytes:
    rows = [b"org:o%d,Org %d,fqhc\n" % (n, n) for n in range(1, 6)]
    rows[2] = b"org:o3,%s,fqhc\n" % bad_name  # line 4
    return HEADER + b"".join(rows)


def post_csv(client: TestClient, engine: Engine, body: bytes) -> tuple[int, dict[str, object]]:
    with engine.begin() as connection:
        token = ApiKeyRepository(connection).create("lms").token
    response = client.post(
        "/api/v1/import/organizations",
        content=body,
        headers={"authorization": f"Bearer {token}", "content-type": "text/csv"},
    )
    assert response.status_code != 500
    return response.status_code, response.json()


def org_count(engine: Engine) -> int:
    with UnitOfWork(engine) as uow:
        return uow.records("organizations").count()


def test_the_ingest_api_refuses_a_latin1_body_naming_the_line(
    client: TestClient, web_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        status, answer = post_csv(client, web_engine, orgs_body(b"Caf\xe9 Clinic"))
    assert status == 400
    assert answer["detail"] == "organizations-upload:4 is not valid UTF-8 (byte 0xE9); send or save it as UTF-8"
    assert "Caf" not in caplog.text
    assert org_count(web_engine) == 0


def test_the_ingest_api_rejects_a_row_with_a_nul_byte_by_line_and_field_and_keeps_the_rest(
    client: TestClient, web_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        status, answer = post_csv(client, web_engine, orgs_body(b"Secret\x00Clinic"))
    assert status == 200
    assert answer["problems"] == [
        {
            "record": "organizations-upload:4",
            "field": "name",
            "rule": "contains the control character U+0000, which is not allowed",
        }
    ]
    assert "Secret" not in caplog.text
    assert org_count(web_engine) == 4


def test_the_ingest_api_refuses_a_cell_over_the_csv_field_limit_naming_the_line_and_writes_nothing(
    client: TestClient, web_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        status, answer = post_csv(client, web_engine, orgs_body(b'"' + b"x" * 131_073 + b'"'))
    assert status == 400
    assert answer["detail"] == "organizations-upload:4 (cell): field larger than field limit (131072)"
    assert "xxxxxxxx" not in caplog.text
    assert org_count(web_engine) == 0


def test_the_ingest_api_refuses_a_header_naming_a_column_twice(client: TestClient, web_engine: Engine) -> None:
    status, answer = post_csv(client, web_engine, b"key,name,name,kind\norg:umc,UMC,University,fqhc\n")
    assert status == 400
    assert str(answer["detail"]).startswith("organizations-upload:1 header: each column may appear once")


def test_a_download_request_with_a_nul_in_the_key_is_refused_and_recorded(
    client: TestClient, web_engine: Engine
) -> None:
    with web_engine.begin() as conn:
        token = create_token(conn, "funder:hudson-health-fund").secret
    anonymous = client.get("/api/v1/exports/funders/x%00.zip")
    with_token = client.get("/api/v1/exports/funders/x%00.zip", headers={"Authorization": f"Bearer {token}"})
    assert (anonymous.status_code, with_token.status_code) == (401, 404)
    with web_engine.connect() as conn:
        logged = conn.execute(select(export_downloads.c.requested, export_downloads.c.outcome)).all()
    assert sorted(map(tuple, logged)) == [("funder:x\\x00", "refused"), ("funder:x\\x00", "unauthorized")]


def test_the_ingest_api_answers_a_misspelt_or_missing_column_once_for_the_whole_body(
    client: TestClient, web_engine: Engine
) -> None:
    rows = b"".join(b"org:o%d,Org %d,fqhc\n" % (n, n) for n in range(1, 501))
    status, answer = post_csv(client, web_engine, b"key,nmae,kidn\n" + rows)
    assert status == 400
    assert answer["type"] == "urn:ignite-sync:problem:wrong-header"
    assert answer["errors"] == [
        {"field": "nmae", "rule": "unknown column; did you mean 'name'?"},
        {"field": "kidn", "rule": "unknown column; did you mean 'kind'?"},
        {"field": "name", "rule": "required column missing"},
        {"field": "kind", "rule": "required column missing"},
    ]
    assert org_count(web_engine) == 0
