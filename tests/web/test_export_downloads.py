"""Funders download their export from the served app; another funder's token learns nothing."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import Engine

import demo
from exports.tokens import create_token
from tests.web.conftest import AppFactory


def test_the_served_app_hands_a_funder_its_own_export_and_nobody_elses(
    make_client: AppFactory, web_engine: Engine
) -> None:
    demo.seed(web_engine, demo.generate(32))
    with web_engine.begin() as conn:
        hudson = create_token(conn, "funder:hudson-health-fund").secret
    client = make_client()
    own = client.get("/api/v1/exports/funders/hudson-health-fund.zip", headers={"Authorization": f"Bearer {hudson}"})
    assert own.status_code == 200, own.text
    names = set(zipfile.ZipFile(io.BytesIO(own.content)).namelist())
    assert {"outcomes.xlsx", "datapackage.json", "summary.pdf"} <= names
    other = client.get(
        "/api/v1/exports/funders/delta-care-foundation.zip", headers={"Authorization": f"Bearer {hudson}"}
    )
    missing = client.get("/api/v1/exports/funders/no-such-funder.zip", headers={"Authorization": f"Bearer {hudson}"})
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()  # no hint that the other funder exists
    assert client.get("/api/v1/exports/funders/hudson-health-fund.zip").status_code == 401
