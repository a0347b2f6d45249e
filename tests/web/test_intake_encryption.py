"""Intake submissions encrypted at rest: a database dump alone reveals no submission, keys rotate without
losing a row, rows from before encryption stay readable, and a missing key is a clear error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, LargeBinary, String, Text, inspect, select, text, type_coerce
from typer.testing import CliRunner

from cli.app import app as cli
from cli.context import AppContext
from service import create_app
from settings import MISSING_KEYS, SettingsError, load_settings
from store.encryption import (
    MARKER,
    EncryptionKeyError,
    Keyring,
    install_keyring,
    installed_keyring,
    key_id,
    new_key,
)
from store.intake import InboxRepository, NewDelivery
from store.intake_tables import intake_inbox
from store.reencrypt import encrypted_tables, reencrypt_batch
from store.tables import metadata
from tests.web.conftest import AppFactory
from tests.web.helpers import compact, standard_headers, submission

URL = "/webhooks/intake/website"
OLD, NEW = new_key(), new_key()
EMAIL, NAME = "grace.hopper@navy.example.org", "Hopper"


@pytest.fixture(autouse=True)
def no_keyring_left_behind() -> Iterator[None]:
    """The keyring is process-wide (installed at start-up): each test leaves none behind."""
    yield
    install_keyring(None)


def _delivery(msg_id: str, **overrides: Any) -> NewDelivery:
    body = submission(email=EMAIL, last_name=NAME, **overrides)
    return NewDelivery(
        source="website",
        delivery_id=msg_id,
        received_at=datetime.now(UTC),
        content_type="application/json",
        raw_body=compact(body),
        submission=None,
        email_hash="h",
        quarantine_reason="invalid",
        quarantine_problems=[{"field": "state", "rule": "unknown"}],
        candidate=body,
    )


def _store(engine: Engine, *deliveries: NewDelivery) -> list[int]:
    with engine.begin() as conn:
        return [s.inbox_id for s in InboxRepository(conn).insert_many(list(deliveries))]


def _raw(engine: Engine, inbox_id: int) -> tuple[bytes, Any]:
    """What the database itself holds, past the column types."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                type_coerce(intake_inbox.c.raw_body, LargeBinary), type_coerce(intake_inbox.c.candidate, String)
            ).where(intake_inbox.c.id == inbox_id)
        ).one()
    return bytes(row[0]), row[1]


def _dump_holds(engine: Engine, *needles: str) -> list[str]:
    """Every text and binary column of every table, searched by value: where any needle appears."""
    found = []
    with engine.connect() as conn:
        inspector = inspect(conn)
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                name = column["name"]
                for (value,) in conn.execute(text(f'SELECT "{name}" FROM "{table}"')):
                    if value is None:
                        continue
                    blob = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                    found += [f"{table}.{name}" for n in needles if n.lower().encode() in blob.lower()]
    return found


def _rotate(engine: Engine, batch: int = 2) -> int:
    keyring = installed_keyring()
    assert keyring is not None
    rewritten = 0
    for table, columns in encrypted_tables(metadata):
        after = None
        while True:
            with engine.begin() as conn:
                result = reencrypt_batch(conn, table, columns, keyring, after=after, limit=batch)
            if result.last_key is None:
                break
            after, rewritten = result.last_key, rewritten + result.rewritten
    return rewritten


def test_a_database_dump_alone_reveals_no_submission(make_client: AppFactory, web_engine: Engine) -> None:
    client = make_client(encryption_keys=NEW)
    for msg_id, overrides in (("msg_ok", {}), ("msg_bad", {"state": "Atlantis"})):
        body = compact(submission(email=EMAIL, last_name=NAME, **overrides))
        response = client.post(URL, content=body, headers=standard_headers(body, msg_id=msg_id))
        assert response.status_code == 202
    with web_engine.connect() as conn:
        inbox = InboxRepository(conn)
        accepted, quarantined = inbox.find("website", "msg_ok"), inbox.find("website", "msg_bad")
    assert accepted is not None and accepted.submission is not None and accepted.submission["email"] == EMAIL
    assert quarantined is not None and quarantined.status == "quarantined"
    assert quarantined.candidate is not None and quarantined.candidate["last_name"] == NAME
    assert quarantined.raw_body is not None and EMAIL.encode() in quarantined.raw_body
    assert _dump_holds(web_engine, EMAIL, NAME, "Analytical Engines") == []


def test_without_a_key_the_dump_search_finds_the_submission(make_client: AppFactory, web_engine: Engine) -> None:
    """The dump search above can see a submission when one is there (so its empty answer means something)."""
    client = make_client()
    body = compact(submission(email=EMAIL, last_name=NAME))
    assert client.post(URL, content=body, headers=standard_headers(body)).status_code == 202
    assert "intake_inbox.raw_body" in _dump_holds(web_engine, EMAIL)


def test_new_rows_use_the_newest_key_and_rows_under_an_older_one_stay_readable(engine: Engine) -> None:
    install_keyring(Keyring([OLD]))
    (old_row,) = _store(engine, _delivery("msg_1"))
    install_keyring(Keyring([NEW, OLD]))
    (new_row,) = _store(engine, _delivery("msg_2"))
    assert _raw(engine, old_row)[0].startswith(f"{MARKER}{key_id(OLD)}:".encode())
    assert _raw(engine, new_row)[0].startswith(f"{MARKER}{key_id(NEW)}:".encode())
    with engine.connect() as conn:
        for inbox_id in (old_row, new_row):
            entry = InboxRepository(conn).get(inbox_id)
            assert entry is not None and entry.candidate is not None and entry.candidate["email"] == EMAIL


def test_rotate_re_encrypts_every_row_under_the_newest_key_and_is_resumable(engine: Engine) -> None:
    install_keyring(Keyring([OLD]))
    ids = _store(engine, *[_delivery(f"msg_{i}") for i in range(5)])
    install_keyring(Keyring([NEW, OLD]))
    assert _rotate(engine) == 5
    assert _rotate(engine) == 0  # a second run (or a resumed one) finds nothing left on the old key
    install_keyring(Keyring([NEW]))  # the old key can go now
    with engine.connect() as conn:
        for inbox_id in ids:
            raw_body, candidate = _raw(engine, inbox_id)
            assert raw_body.startswith(f"{MARKER}{key_id(NEW)}:".encode()) and key_id(NEW) in candidate
            entry = InboxRepository(conn).get(inbox_id)
            assert entry is not None and entry.raw_body is not None and EMAIL.encode() in entry.raw_body


def test_rows_from_before_encryption_stay_readable_and_rotate_encrypts_them(engine: Engine) -> None:
    install_keyring(None)
    (legacy,) = _store(engine, _delivery("msg_legacy"))
    assert EMAIL.encode() in _raw(engine, legacy)[0]
    install_keyring(Keyring([NEW]))
    with engine.connect() as conn:
        entry = InboxRepository(conn).get(legacy)
    assert entry is not None and entry.candidate is not None and entry.candidate["last_name"] == NAME
    assert _rotate(engine) == 1
    assert _dump_holds(engine, EMAIL, NAME) == []
    with engine.connect() as conn:
        again = InboxRepository(conn).get(legacy)
    assert again is not None and again.candidate == entry.candidate and again.raw_body == entry.raw_body


def test_a_row_whose_key_is_missing_is_a_clear_error_naming_the_key(engine: Engine) -> None:
    install_keyring(Keyring([OLD]))
    (inbox_id,) = _store(engine, _delivery("msg_1"))
    install_keyring(Keyring([NEW]))
    with engine.connect() as conn, pytest.raises(EncryptionKeyError, match=key_id(OLD)) as raised:
        InboxRepository(conn).get(inbox_id)
    assert "IGNITE_ENCRYPTION_KEYS" in str(raised.value) and OLD not in str(raised.value)
    install_keyring(None)
    with engine.connect() as conn, pytest.raises(EncryptionKeyError, match="IGNITE_ENCRYPTION_KEYS is not set"):
        InboxRepository(conn).get(inbox_id)


def test_purging_and_reviewing_work_on_encrypted_rows(engine: Engine) -> None:
    install_keyring(Keyring([NEW]))
    (inbox_id,) = _store(engine, _delivery("msg_1"))
    at = datetime.now(UTC)
    with engine.begin() as conn:
        assert InboxRepository(conn).discard(inbox_id, note=f"spam from {NAME}", at=at)
        InboxRepository(conn).record_error(inbox_id, f"CRM refused {EMAIL}", final=False)
    assert _dump_holds(engine, EMAIL, NAME) == []
    with engine.connect() as conn:
        entry = InboxRepository(conn).get(inbox_id)
    assert entry is not None and entry.review_note == f"spam from {NAME}" and entry.last_error == f"CRM refused {EMAIL}"


def test_the_service_warns_without_a_key_and_refuses_to_start_in_production(
    web_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    url = web_engine.url.render_as_string(hide_password=False)
    with caplog.at_level(logging.WARNING):
        create_app(load_settings(database_url=url), engine=web_engine)
    assert MISSING_KEYS in caplog.text and "IGNITE_ENCRYPTION_KEYS" in MISSING_KEYS
    with pytest.raises(SettingsError, match="IGNITE_ENCRYPTION_KEYS"):
        create_app(load_settings(database_url=url, env="production"), engine=web_engine)
    create_app(load_settings(database_url=url, env="production", encryption_keys=f"{NEW},{OLD}"), engine=web_engine)
    assert installed_keyring() is not None and installed_keyring().current == key_id(NEW)  # type: ignore[union-attr]


def test_a_malformed_key_is_a_setting_error_that_does_not_repeat_it() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(encryption_keys="not-a-key-but-a-password-typed-in-the-wrong-place")
    assert raised.value.lines[0].startswith("IGNITE_ENCRYPTION_KEYS:")
    assert "password-typed" not in str(raised.value)


def test_the_keys_commands_make_a_key_and_rotate(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "new"])
    assert made.exit_code == 0 and len(made.stdout.strip()) == 44
    Keyring([made.stdout.strip()])
    install_keyring(Keyring([OLD]))
    _store(engine, _delivery("msg_1"), _delivery("msg_2"))
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("IGNITE_DATABASE_URL", url)
    monkeypatch.setenv("IGNITE_ENCRYPTION_KEYS", f"{NEW}, {OLD}")
    rotated = runner.invoke(cli, ["keys", "rotate", "--batch-size", "1"])
    assert rotated.exit_code == 0, rotated.output
    assert "intake_inbox: 2 of 2 rows" in rotated.stdout
    assert "0 of 2" in runner.invoke(cli, ["keys", "rotate"]).stdout
    monkeypatch.setenv("IGNITE_ENCRYPTION_KEYS", "")
    context = AppContext(load_settings(database_url=url))
    install_keyring(None)
    refused = runner.invoke(cli, ["keys", "rotate"], obj=context)
    assert refused.exit_code == 1 and "IGNITE_ENCRYPTION_KEYS is not set" in refused.output
    context.engine.dispose()


def test_every_column_holding_the_senders_words_is_encrypted() -> None:
    """A column added to the inbox for what the sender wrote must be an encrypted type (or named here)."""
    names = {c.name for table, columns in encrypted_tables(metadata) for c in columns if table is intake_inbox}
    assert names == {"raw_body", "submission", "candidate", "review_note", "last_error"}
    plain_text = {
        c.name for c in intake_inbox.columns if isinstance(c.type, Text | LargeBinary) and c.name not in names
    }
    assert plain_text == set()


def test_the_worker_refuses_to_start_in_production_without_a_key(tmp_path: Any) -> None:
    result = CliRunner().invoke(
        cli,
        ["worker", "--once"],
        env={"IGNITE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "IGNITE_ENV": "production"},
    )
    assert result.exit_code == 2 and "IGNITE_ENCRYPTION_KEYS" in result.output
