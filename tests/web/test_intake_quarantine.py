"""Quarantine, don't drop: what staff do with a signed lead that did not validate.

A quarantined submission is listed (no personal data unless asked), shown, corrected and released into the
ordinary intake job, which delivers exactly one Lead however often it is released; or discarded.  Housekeeping
never purges one that is still waiting for review.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.app import app
from cli.context import AppContext
from connector.local import LocalCrm
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from models.keys import email_hash
from settings import load_settings
from store.intake import InboxRepository
from store.jobs import JobRepository
from sync.intake import INTAKE_JOB, IntakeHandler, ReleaseRefused, release_quarantined
from sync.maintenance import Housekeeping
from sync.runner import sync_status
from sync.worker import Worker
from tests.web.helpers import compact, standard_headers, submission

URL = "/webhooks/intake/website"
runner = CliRunner()


def post_quarantined(client: TestClient, engine: Engine, msg_id: str, **overrides: object) -> int:
    body = compact(submission(**overrides))
    assert client.post(URL, content=body, headers=standard_headers(body, msg_id=msg_id)).status_code == 202
    with engine.connect() as conn:
        entry = InboxRepository(conn).find("website", msg_id)
    assert entry is not None and entry.status == "quarantined"
    return entry.id


def cli(engine: Engine, *args: str) -> tuple[int, str]:
    """Run `ignite-sync …` against the test database; the command's own engine is closed afterwards."""
    context = AppContext(load_settings(database_url=engine.url.render_as_string(hide_password=False)))
    try:
        result = runner.invoke(app, list(args), obj=context, env={"COLUMNS": "250"})
    finally:
        context.engine.dispose()
    return result.exit_code, result.output


def job_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(JobRepository(conn).counts_by_state().values())


def test_released_submission_delivers_exactly_one_lead_through_the_worker(
    client: TestClient, web_engine: Engine, tmp_path: Path
) -> None:
    inbox_id = post_quarantined(client, web_engine, "msg_on", email="mary@seacole.example.org", state="ON")
    assert job_count(web_engine) == 0

    code, output = cli(web_engine, "intake", "release", str(inbox_id), "--set", "state=Ontario")
    assert code == 1 and "state:" in output and "stays quarantined" in output
    assert job_count(web_engine) == 0

    code, output = cli(web_engine, "intake", "release", str(inbox_id), "--set", "state=", "--note", "Canadian lead")
    assert code == 0, output
    assert "released" in output
    code, output = cli(web_engine, "intake", "release", str(inbox_id))
    assert code == 0 and "already pending" in output
    assert job_count(web_engine) == 1  # released twice, queued once

    crm_url = f"sqlite:///{tmp_path / 'crm.db'}"
    LocalCrm.create_database(crm_url, load_describes("npsp_pmm")).close()
    handler = IntakeHandler(web_engine, lambda: LocalCrm.open(crm_url), load_profile("npsp_pmm"), keep_connector=False)
    worker = Worker(web_engine, {INTAKE_JOB: handler}, poll_seconds=0.01)
    assert worker.run_one()
    assert not worker.run_one()
    with LocalCrm.open(crm_url) as crm:
        leads = crm.query_all("SELECT Email, Company FROM Lead")
    assert [(lead["Email"], lead["Company"]) for lead in leads] == [
        ("mary@seacole.example.org", "Analytical Engines Health")
    ]
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).get(inbox_id)
    assert entry is not None and (entry.status, entry.outcome) == ("done", "created_lead")
    assert entry.review_note == "Canadian lead" and entry.quarantine_reason == "invalid"  # the history stays


def test_releasing_twice_in_code_enqueues_once_and_other_states_are_not_released(
    client: TestClient, web_engine: Engine
) -> None:
    inbox_id = post_quarantined(client, web_engine, "msg_long", message="x" * 5_001)
    still = release_quarantined(web_engine, inbox_id)
    assert not still.released and [p.field for p in still.problems] == ["message"]
    first = release_quarantined(web_engine, inbox_id, truncate=True)
    again = release_quarantined(web_engine, inbox_id, truncate=True)
    assert (first.released, first.truncated) == (True, ["message"])
    assert (again.released, again.status) == (False, "pending")
    assert job_count(web_engine) == 1
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).get(inbox_id)
    assert entry is not None and entry.submission is not None and len(entry.submission["message"]) == 5_000
    assert entry.raw_body is not None and b"x" * 5_001 in entry.raw_body  # the full text is kept
    unknown = release_quarantined(web_engine, inbox_id, corrections={"favourite_colour": "teal"})
    assert [p.field for p in unknown.problems] == ["favourite_colour"]
    with pytest.raises(ReleaseRefused):
        release_quarantined(web_engine, 999_999)


def test_quarantined_list_names_reasons_without_personal_data_unless_asked(
    client: TestClient, web_engine: Engine
) -> None:
    inbox_id = post_quarantined(client, web_engine, "msg_list", email="grace@mercy.example.org", role="ceo")
    code, output = cli(web_engine, "intake", "quarantined")
    assert code == 0, output
    assert str(inbox_id) in output and "website" in output and "invalid (role:" in output
    assert email_hash("grace@mercy.example.org") in output
    assert "grace@mercy.example.org" not in output and "Lovelace" not in output and "ceo" not in output
    code, output = cli(web_engine, "intake", "quarantined", "--show-personal", "--json")
    [row] = [json.loads(line) for line in output.splitlines()]
    assert row["email"] == "grace@mercy.example.org" and row["id"] == inbox_id
    code, output = cli(web_engine, "intake", "show", str(inbox_id))
    assert code == 0 and "problem: role:" in output and '"ceo"' in output


def test_discarded_submission_is_never_delivered_and_its_body_is_purged_like_a_delivered_one(
    client: TestClient, web_engine: Engine
) -> None:
    inbox_id = post_quarantined(client, web_engine, "msg_spam", website_url="http://spam.example")
    code, output = cli(web_engine, "intake", "discard", str(inbox_id), "--reason", "spam")
    assert code == 0, output
    code, output = cli(web_engine, "intake", "release", str(inbox_id))
    assert code == 1 and "discarded (spam)" in output
    assert job_count(web_engine) == 0
    Housekeeping(keep_intake_bodies=timedelta(days=30)).run(web_engine, now=datetime.now(UTC) + timedelta(days=31))
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).get(inbox_id)
    assert entry is not None and entry.status == "discarded" and entry.raw_body is None and entry.candidate is None


def test_housekeeping_keeps_unreviewed_quarantined_submissions_past_the_ordinary_retention(
    client: TestClient, web_engine: Engine
) -> None:
    inbox_id = post_quarantined(client, web_engine, "msg_keep", state="ON")
    much_later = datetime.now(UTC) + timedelta(days=400)
    Housekeeping(keep_intake_bodies=timedelta(days=30)).run(web_engine, now=much_later)
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).get(inbox_id)
    assert entry is not None and entry.status == "quarantined" and entry.raw_body is not None
    assert entry.candidate is not None
    # With a (longer) quarantine retention configured, an unreviewed one finally goes, marked as expired.
    Housekeeping(keep_intake_bodies=timedelta(days=30), keep_quarantined=timedelta(days=365)).run(
        web_engine, now=much_later
    )
    with web_engine.connect() as conn:
        entry = InboxRepository(conn).get(inbox_id)
    assert entry is not None and entry.status == "discarded" and entry.raw_body is None and entry.candidate is None
    assert "expired" in (entry.review_note or "")


def test_status_shows_quarantined_submissions_waiting_for_review(client: TestClient, web_engine: Engine) -> None:
    post_quarantined(client, web_engine, "msg_s1", state="ON")
    post_quarantined(client, web_engine, "msg_s2", website_url="http://spam.example")
    intake = sync_status(web_engine)["intake"]
    assert intake["quarantined"] == 2 and intake["quarantined_by_reason"] == {"invalid": 1, "honeypot": 1}
    code, output = cli(web_engine, "status")
    assert code == 0 and "2 quarantined submissions wait for review" in output


def test_a_release_that_loses_a_race_with_a_discard_says_so_instead_of_pending(
    client: TestClient, web_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between release's read and its guarded update, another reviewer (or the expiry) discards the row."""
    inbox_id = post_quarantined(client, web_engine, "msg_race", state="ON")
    real_release = InboxRepository.release

    def discarded_meanwhile(self: InboxRepository, *args: object, **kwargs: object) -> bool:
        assert self.discard(inbox_id, note="spam, said a colleague", at=datetime.now(UTC))
        return real_release(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(InboxRepository, "release", discarded_meanwhile)
    with pytest.raises(ReleaseRefused, match="discarded \\(spam, said a colleague\\)"):
        release_quarantined(web_engine, inbox_id, corrections={"state": None})
    assert job_count(web_engine) == 0


def test_markup_in_a_submitted_value_is_listed_as_plain_text(client: TestClient, web_engine: Engine) -> None:
    post_quarantined(client, web_engine, "msg_markup", email="[/b]oops")
    code, output = cli(web_engine, "intake", "quarantined", "--show-personal")
    assert code == 0, output
    assert "[/b]oops" in output


def test_quarantined_list_names_a_bad_state_in_a_few_words_and_show_keeps_the_full_rule(
    client: TestClient, web_engine: Engine
) -> None:
    # Issue 16: the reason column listed all 56 state codes.
    inbox_id = post_quarantined(client, web_engine, "msg_state", email="mary@seacole.example.org", state="ON")
    code, output = cli(web_engine, "intake", "quarantined")
    assert code == 0, output
    assert "invalid (state: not a US state code)" in output
    assert "'WY'" not in output
    code, output = cli(web_engine, "intake", "show", str(inbox_id))
    assert code == 0 and "problem: state: Input should be 'AL', 'AK'" in output and "'VI'" in output
