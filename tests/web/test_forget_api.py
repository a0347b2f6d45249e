"""POST /api/v1/forget (issue 18): only an administrator's key may erase a person; the answer names what was or
would be removed by counts and CRM Ids, never by the person's values, and is 202 while CRM work is queued."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cli.app import app as cli
from models import Participant
from store import UnitOfWork
from store.api_keys import ADMIN_ROLE, ApiKeyRepository
from store.jobs_tables import jobs, sync_ledger
from store.tables import participants
from sync.erasure import ERASURE_JOB

PERSON = Participant(
    email="Dana.Forgotten@Example.org",
    first_name="Dana",
    last_name="Forgotten",
    role="clinician",
    organization="org:catskill-ridge",
)
PERSON_TIME = datetime(2026, 12, 1, tzinfo=UTC)


def _keys(engine: Engine) -> tuple[str, str]:
    with engine.begin() as connection:
        keys = ApiKeyRepository(connection)
        return keys.create("lms").token, keys.create("privacy-officer", role=ADMIN_ROLE).token


def _seed(engine: Engine, *, in_crm: bool) -> None:
    with UnitOfWork(engine) as uow:
        uow.records("participants").upsert_many([PERSON])
        if in_crm:
            uow.connection.execute(
                sync_ledger.insert().values(
                    record_key=PERSON.key,
                    step="participant_contact",
                    object_name="Contact",
                    source_key=PERSON.key,
                    crm_id="0030L0000000001AAA",
                    status="synced",
                    attempts=1,
                    updated_at=PERSON_TIME,
                )
            )
        uow.commit()


def _post(client: TestClient, token: str, **body: object) -> tuple[int, dict[str, object]]:
    answer = client.post("/api/v1/forget", json=body, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.json()


def test_an_import_key_may_not_erase_a_person_and_is_told_why(client: TestClient, web_engine: Engine) -> None:
    import_key, _admin = _keys(web_engine)
    _seed(web_engine, in_crm=False)

    status, body = _post(client, import_key, subject=PERSON.email)

    assert status == 403
    assert "administrator" in str(body["detail"]) and "--admin" in str(body["detail"])
    with web_engine.connect() as connection:
        assert connection.execute(select(participants.c.key)).scalars().all() == [PERSON.key]


def test_a_dry_run_lists_what_would_go_and_changes_nothing(client: TestClient, web_engine: Engine) -> None:
    _import_key, admin = _keys(web_engine)
    _seed(web_engine, in_crm=True)

    status, body = _post(client, admin, subject=PERSON.email.upper(), dry_run=True)

    assert status == 200
    assert body["would_remove"] == {"participants": 1, "sync_ledger": 1}
    assert body["crm_records"] == [{"object": "Contact", "id": "0030L0000000001AAA"}]
    assert PERSON.email.lower() not in json.dumps(body).lower() and "Forgotten" not in json.dumps(body)
    with web_engine.connect() as connection:
        assert connection.execute(select(participants.c.key)).scalars().all() == [PERSON.key]


def test_an_erasure_with_crm_work_answers_202_and_queues_the_crm_part(client: TestClient, web_engine: Engine) -> None:
    _import_key, admin = _keys(web_engine)
    _seed(web_engine, in_crm=True)

    status, body = _post(client, admin, subject=PERSON.email, crm="anonymise")

    assert status == 202
    assert body["status"] == "crm_pending" and body["removed"] == {"participants": 1, "sync_ledger": 1}
    with web_engine.connect() as connection:
        assert connection.execute(select(participants)).all() == []
        [job] = connection.execute(select(jobs).where(jobs.c.kind == ERASURE_JOB)).all()
    assert job.id == body["job_id"]
    assert PERSON.email.lower() not in json.dumps(job.payload).lower()


def test_keep_leaves_the_crm_alone_and_answers_200(client: TestClient, web_engine: Engine) -> None:
    _import_key, admin = _keys(web_engine)
    _seed(web_engine, in_crm=True)

    status, body = _post(client, admin, subject=PERSON.key, crm="keep")

    assert status == 200 and body["status"] == "done"
    assert body["crm_records"] == [{"object": "Contact", "id": "0030L0000000001AAA"}]


def test_an_administrator_key_is_made_with_admin_and_listed_with_its_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["api-key", "create", "privacy-officer", "--admin"]).exit_code == 0
    assert runner.invoke(cli, ["api-key", "create", "lms"]).exit_code == 0
    listed = runner.invoke(cli, ["api-key", "list"]).stdout.splitlines()
    roles = {line.split("\t")[0]: line.split("\t")[-1] for line in listed[1:]}
    assert roles == {"privacy-officer": "admin", "lms": "import"}
