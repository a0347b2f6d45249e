"""Credentials with a lifetime: funder tokens and API keys expire, can be revoked and listed, record their
last use cheaply, and an expired or revoked one gets a 401 problem that says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from cli.app import app as cli
from exports.tokens import check_token, create_token, list_tokens, revoke_token
from store.api_keys import ApiKeyRepository
from store.database import make_engine, upgrade_database
from store.exports_tables import export_downloads, funder_tokens
from store.secrets import Refusal, hash_token
from tests.support.export_program import seed, two_funders

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _download(client: TestClient, funder: str, token: str) -> tuple[int, dict[str, object]]:
    response = client.get(f"/api/v1/exports/funders/{funder}.zip", headers={"Authorization": f"Bearer {token}"})
    body = response.json() if response.headers["content-type"].startswith("application/problem+json") else {}
    return response.status_code, body


def test_a_funder_token_expires_after_a_year_by_default(engine: Engine) -> None:
    seed(engine, two_funders())
    with engine.begin() as conn:
        issued = create_token(conn, "funder:acme", now=T0)
        assert issued.expires_at == T0 + timedelta(days=365)
        assert isinstance(check_token(conn, issued.secret, now=T0 + timedelta(days=364)), object)
        assert check_token(conn, issued.secret, now=T0 + timedelta(days=365)) == Refusal("expired")
        forever = create_token(conn, "funder:acme", lifetime=None, now=T0)
        assert forever.expires_at is None
        assert not isinstance(check_token(conn, forever.secret, now=T0 + timedelta(days=5000)), Refusal)


def test_expired_and_revoked_funder_tokens_get_a_401_that_says_which(client: TestClient, web_engine: Engine) -> None:
    seed(web_engine, two_funders())
    with web_engine.begin() as conn:
        expired = create_token(conn, "funder:acme", now=T0 - timedelta(days=2), lifetime=timedelta(days=1))
        revoked = create_token(conn, "funder:acme")
        assert revoke_token(conn, revoked.id)
        assert not revoke_token(conn, revoked.id)  # revoking twice is a no-op the CLI reports
    unknown_status, unknown = _download(client, "acme", "igx_not-a-token")
    expired_status, expired_body = _download(client, "acme", expired.secret)
    revoked_status, revoked_body = _download(client, "acme", revoked.secret)
    assert unknown_status == expired_status == revoked_status == 401
    assert "expired" in str(expired_body["detail"]) and "revoked" in str(revoked_body["detail"])
    assert len({unknown["detail"], expired_body["detail"], revoked_body["detail"]}) == 3
    # An expired token is refused before the funder is compared: asking for a funder that does not exist, or
    # for another funder, gets the same answer, so it still tells nothing about which funders exist.
    assert _download(client, "nobody", expired.secret) == (expired_status, expired_body)
    assert _download(client, "zenith", expired.secret) == (expired_status, expired_body)
    with web_engine.connect() as conn:
        outcomes = [r.outcome for r in conn.execute(select(export_downloads).order_by(export_downloads.c.id))]
    assert outcomes == ["unauthorized", "expired", "revoked", "expired", "expired"]


def test_a_live_funder_tokens_wrong_funder_is_still_the_404_of_a_missing_one(
    client: TestClient, web_engine: Engine
) -> None:
    seed(web_engine, two_funders())
    with web_engine.begin() as conn:
        zenith = create_token(conn, "funder:zenith").secret
    assert _download(client, "acme", zenith) == _download(client, "nobody", zenith)
    assert _download(client, "acme", zenith)[0] == 404


def test_a_tokens_last_use_is_written_at_most_once_a_minute(engine: Engine) -> None:
    seed(engine, two_funders())
    with engine.begin() as conn:
        issued = create_token(conn, "funder:acme", now=T0)
        for seconds in (0, 10, 59):
            check_token(conn, issued.secret, now=T0 + timedelta(seconds=seconds))
        assert conn.execute(select(funder_tokens.c.last_used_at)).scalar_one() == T0
        check_token(conn, issued.secret, now=T0 + timedelta(seconds=61))
        assert conn.execute(select(funder_tokens.c.last_used_at)).scalar_one() == T0 + timedelta(seconds=61)
        listed = list_tokens(conn, "funder:acme")
    assert [(t.id, t.last_used_at, t.expires_at) for t in listed] == [
        (issued.id, T0 + timedelta(seconds=61), issued.expires_at)
    ]


def test_an_api_keys_last_use_is_written_at_most_once_a_minute(engine: Engine) -> None:
    with engine.begin() as conn:
        keys = ApiKeyRepository(conn)
        token = keys.create("lms", now=T0).token
        assert keys.check(token, now=T0) == "lms"
        assert keys.check(token, now=T0 + timedelta(seconds=30)) == "lms"
        assert keys.list()[0].last_used_at == T0
        assert keys.check(token, now=T0 + timedelta(minutes=2)) == "lms"
        assert keys.list()[0].last_used_at == T0 + timedelta(minutes=2)


def test_api_keys_expire_and_say_why_they_are_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        keys = ApiKeyRepository(conn)
        short = keys.create("short", now=T0, lifetime=timedelta(days=30))
        forever = keys.create("forever", now=T0, lifetime=None)
        default = keys.create("default", now=T0)
        assert default.expires_at == T0 + timedelta(days=365)
        assert keys.check(short.token, now=T0 + timedelta(days=30)) == Refusal("expired")
        assert keys.check(forever.token, now=T0 + timedelta(days=5000)) == "forever"
        assert keys.check(short.token[:-4] + "AAAA", now=T0) == Refusal("unknown")
        keys.revoke("forever")
        assert keys.check(forever.token) == Refusal("revoked")


def test_expired_and_revoked_api_keys_get_a_401_problem_that_says_which(client: TestClient, web_engine: Engine) -> None:
    with web_engine.begin() as conn:
        keys = ApiKeyRepository(conn)
        expired = keys.create("old", now=T0 - timedelta(days=10), lifetime=timedelta(days=1)).token
        revoked = keys.create("gone").token
        keys.revoke("gone")
        live = keys.create("lms").token
    details = []
    for token in (live[:-4] + "AAAA", expired, revoked):
        response = client.post(
            "/api/v1/import/organizations",
            content="[]",
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        details.append(response.json()["detail"])
    assert "expired" in details[1] and "revoked" in details[2] and len(set(details)) == 3


def test_the_cli_lists_and_revokes_funder_tokens_and_api_keys_with_their_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    created = runner.invoke(cli, ["api-key", "create", "lms", "--expires-in", "30"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert runner.invoke(cli, ["api-key", "create", "x", "--expires-in", "3", "--no-expiry"]).exit_code == 2
    assert runner.invoke(cli, ["api-key", "create", "bridge", "--no-expiry"]).exit_code == 0
    listed = runner.invoke(cli, ["api-key", "list"]).stdout
    assert token not in listed
    lms = next(line for line in listed.splitlines() if line.startswith("lms\t")).split("\t")
    bridge = next(line for line in listed.splitlines() if line.startswith("bridge\t")).split("\t")
    expected = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert lms[2] == "live" and lms[4].startswith(expected) and lms[5] == "never"
    assert bridge[4] == "never"
    assert runner.invoke(cli, ["api-key", "revoke", "lms"]).exit_code == 0
    assert "\trevoked\t" in runner.invoke(cli, ["api-key", "list"]).stdout

    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    seed(engine, two_funders())
    issued = runner.invoke(cli, ["funder-token", "create", "acme", "--label", "board"])
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip().splitlines()[-1]
    listed = runner.invoke(cli, ["funder-token", "list"]).stdout
    assert secret not in listed
    with engine.connect() as conn:
        stored = conn.execute(select(funder_tokens.c.token_hash)).scalar_one()
    assert stored not in listed
    row = next(line for line in listed.splitlines() if "\tfunder:acme\t" in line).split("\t")
    year = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d")
    assert row[2] == "board" and row[3] == "live" and row[5].startswith(year) and row[6] == "never"
    assert runner.invoke(cli, ["funder-token", "revoke", row[0]]).exit_code == 0
    assert runner.invoke(cli, ["funder-token", "revoke", row[0]]).exit_code == 1
    assert runner.invoke(cli, ["funder-token", "list", "acme"]).stdout.count("\trevoked\t") == 1
    engine.dispose()


def test_the_upgrade_keeps_credentials_made_before_lifetimes_working_without_expiry(database_url: str) -> None:
    """Revision 0006 adds the expiry columns empty: existing keys and tokens stay live until revoked."""
    engine = make_engine(database_url)
    try:
        upgrade_database(engine, "0005")
        seed(engine, two_funders())
        key = "isk_abcdef012345_" + "s" * 43
        token = "igx_" + "t" * 43
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (name, key_id, key_hash, created_at) VALUES ('old', 'abcdef012345', :h, :at)"
                ),
                {"h": hash_token(key), "at": T0.replace(tzinfo=None)},
            )
            conn.execute(
                text(
                    "INSERT INTO funder_tokens (id, funder, token_hash, created_at) "
                    "VALUES ('t1', 'funder:acme', :h, :at)"
                ),
                {"h": hash_token(token), "at": T0.replace(tzinfo=None)},
            )
        upgrade_database(engine)
        later = T0 + timedelta(days=4000)
        with engine.begin() as conn:
            assert ApiKeyRepository(conn).check(key, now=later) == "old"
            assert ApiKeyRepository(conn).list()[0].expires_at is None
            holder = check_token(conn, token, now=later)
            assert not isinstance(holder, Refusal) and holder.funder == "funder:acme"
            assert list_tokens(conn)[0].expires_at is None and list_tokens(conn)[0].last_used_at == later
    finally:
        engine.dispose()
