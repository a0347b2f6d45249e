"""The rest of the web service: the ingest API behind hashed bearer keys, health, readiness, metrics, config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cli.app import app as cli
from service import create_app
from settings import SettingsError, load_settings
from store.api_keys import ApiKeyRepository
from store.database import make_engine
from store.intake_tables import api_keys
from store.jobs_tables import jobs
from store.unit_of_work import UnitOfWork
from tests.web.helpers import SITE_SECRET, SOURCES
from wiring import intake_sources

ORG_CSV = (
    "key,name,kind,city,state,website\n"
    "org:flch,Finger Lakes Health,fqhc,Geneva,NY,https://flch.example/\n"
    "org:bad kind,Broken,spa,,,\n"
)


def new_key(engine: Engine, name: str = "lms") -> str:
    with engine.begin() as connection:
        return ApiKeyRepository(connection).create(name).token


def test_ingest_api_reports_each_bad_row_like_the_cli_and_keeps_the_good(
    client: TestClient, web_engine: Engine
) -> None:
    token = new_key(web_engine)
    response = client.post(
        "/api/v1/import/organizations",
        content=ORG_CSV,
        headers={"authorization": f"Bearer {token}", "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["accepted"], report["rejected"], report["inserted"]) == (2, 1, 1, 1)
    fields = {(p["record"], p["field"]) for p in report["problems"]}
    assert fields == {("organizations-upload:3", "key"), ("organizations-upload:3", "kind")}
    with UnitOfWork(web_engine) as uow:
        assert uow.records("organizations").keys() == {"org:flch"}
        sync_jobs = uow.connection.execute(select(jobs.c.kind)).scalars().all()
    assert sync_jobs == ["sync"]  # queued with the data, in the same transaction


def test_ingest_api_takes_json_arrays_and_dry_runs_write_nothing(client: TestClient, web_engine: Engine) -> None:
    token = new_key(web_engine)
    rows = [{"key": "org:umc", "name": "University Medical Center", "kind": "academic_medical_center"}]
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    dry = client.post("/api/v1/import/organizations?dry_run=true", content=json.dumps(rows), headers=headers)
    assert dry.status_code == 200 and dry.json()["inserted"] == 1 and dry.json()["dry_run"] is True
    with UnitOfWork(web_engine) as uow:
        assert uow.records("organizations").count() == 0
    real = client.post("/api/v1/import/organizations", content=json.dumps(rows), headers=headers)
    assert real.json()["inserted"] == 1


def test_ingest_api_refuses_missing_unknown_and_revoked_keys(client: TestClient, web_engine: Engine) -> None:
    body = {"content": "[]", "headers": {"content-type": "application/json"}}
    missing = client.post("/api/v1/import/organizations", **body)  # type: ignore[arg-type]
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"] == "application/problem+json"
    token = new_key(web_engine)
    forged = token[:-4] + "AAAA"
    auth = {"content-type": "application/json"}
    assert (
        client.post(
            "/api/v1/import/organizations", content="[]", headers={**auth, "authorization": f"Bearer {forged}"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/import/organizations", content="[]", headers={**auth, "authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    with web_engine.begin() as connection:
        assert ApiKeyRepository(connection).revoke("lms")
    assert (
        client.post(
            "/api/v1/import/organizations", content="[]", headers={**auth, "authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_api_keys_are_stored_only_as_hashes(web_engine: Engine) -> None:
    token = new_key(web_engine, "crm-bridge")
    with web_engine.connect() as connection:
        row = connection.execute(select(api_keys)).one()
    assert token not in json.dumps([str(v) for v in row])
    assert row.key_hash != token and len(row.key_hash) == 64


def test_ingest_api_names_bad_kind_type_and_body(client: TestClient, web_engine: Engine) -> None:
    headers = {"authorization": f"Bearer {new_key(web_engine)}"}
    unknown = client.post(
        "/api/v1/import/spaceships", content="[]", headers={**headers, "content-type": "application/json"}
    )
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "kind"
    xml = client.post(
        "/api/v1/import/organizations", content="<a/>", headers={**headers, "content-type": "application/xml"}
    )
    assert xml.status_code == 415
    broken = client.post(
        "/api/v1/import/organizations", content="[{", headers={**headers, "content-type": "application/json"}
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["detail"]


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE ignite_intake_accepted_total counter" in metrics.text


def test_readiness_fails_until_migrations_are_applied(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    settings = load_settings(database_url=str(engine.url), intake_sources={})
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503 and "migrations" in response.json()["detail"]
    engine.dispose()


def test_intake_sources_come_from_json_or_a_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(SOURCES))
    from_file = intake_sources(load_settings(intake_sources=str(path)))
    from_json = intake_sources(load_settings(intake_sources=json.dumps(SOURCES)))
    assert set(from_file) == set(from_json) == set(SOURCES)
    assert from_file["website"].secrets[0].get_secret_value() == SITE_SECRET


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"site": {"scheme": "none"}}, "insecure: true"),
        ({"site": {"scheme": "standard-webhooks", "secrets": []}}, "at least one secret"),
        ({"site": {"scheme": "standard-webhooks", "secrets": ["whsec_!!"]}}, "whsec_"),
        ({"site": {"scheme": "token", "token_hashes": ["plain-token"]}}, "sha256:"),
        ({"Bad Name": {"scheme": "none", "insecure": True}}, "slug"),
        (
            {"site": {"scheme": "none", "insecure": True, "field_map": {"format": "json", "fields": {"mail": "a"}}}},
            "mail",
        ),
    ],
)
def test_bad_intake_source_config_is_reported_by_variable_and_rule(config: dict, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SettingsError) as error:
        intake_sources(load_settings(intake_sources=json.dumps(config)))
    assert error.value.lines[0].startswith("IGNITE_INTAKE_SOURCES:")
    assert words in error.value.lines[0]


def test_openapi_documents_the_intake_body_and_problem_details(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    intake = schema["paths"]["/webhooks/intake/{source}"]["post"]
    assert intake["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/IntakeForm"
    assert "email" in schema["components"]["schemas"]["IntakeForm"]["properties"]
    assert "ProblemDocument" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_cli_creates_lists_and_revokes_api_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    created = runner.invoke(cli, ["api-key", "create", "lms"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("isk_")
    listed = runner.invoke(cli, ["api-key", "list"])
    assert "lms" in listed.stdout and token not in listed.stdout
    assert runner.invoke(cli, ["api-key", "create", "lms"]).exit_code == 1
    assert runner.invoke(cli, ["api-key", "revoke", "lms"]).exit_code == 0


def test_cli_sign_makes_headers_the_service_accepts(client: TestClient, tmp_path: Path) -> None:
    body = json.dumps({"last_name": "Nightingale", "email": "fn@example.org", "organization": "Scutari"}).encode()
    path = tmp_path / "body.json"
    path.write_bytes(body)
    result = CliRunner().invoke(cli, ["intake", "sign", str(path), "--secret", SITE_SECRET])
    assert result.exit_code == 0, result.output
    parts = result.stdout.split()
    headers = dict(parts[i + 1].split(":", 1) for i in range(0, len(parts), 2))
    response = client.post(
        "/webhooks/intake/website", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 202, response.text


def test_an_import_through_the_api_and_one_through_the_cli_queue_one_sync(
    client: TestClient, web_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both doors name the configured profile, so their sync jobs coalesce instead of queueing two syncs."""
    token = new_key(web_engine)
    response = client.post(
        "/api/v1/import/organizations",
        content=ORG_CSV,
        headers={"authorization": f"Bearer {token}", "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    more = tmp_path / "more.csv"
    more.write_text("key,name,kind\norg:umc,University Medical Center,academic_medical_center\n", encoding="utf-8")
    monkeypatch.setenv("IGNITE_DATABASE_URL", web_engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(cli, ["import", "organizations", str(more)])
    assert result.exit_code == 0, result.output
    with web_engine.connect() as connection:
        queued = connection.execute(select(jobs.c.kind).where(jobs.c.state == "queued")).scalars().all()
    assert queued == ["sync"]
