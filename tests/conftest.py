"""Shared fixtures: service databases on SQLite always, and on Postgres when IGNITE_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from store.database import make_engine, upgrade_database

POSTGRES_URL = os.environ.get("IGNITE_TEST_POSTGRES_URL")
NO_POSTGRES = "IGNITE_TEST_POSTGRES_URL is not set (.ci/run sets it; export it to run the Postgres tier)"


def sqlite_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'service.db'}")


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A throwaway schema in the Postgres test database, so parallel or repeated runs never collide."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and, when configured, on Postgres: one suite, two databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite service database the migrations brought to head, once per session (see `migrated_engine`)."""
    path = tmp_path_factory.mktemp("migrated") / "service.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade_database(eng)
    eng.dispose()  # the last connection checkpoints the WAL: the file alone is the whole database
    return path


def migrated_engine(database_url: str, migrated_sqlite: Path) -> Engine:
    """An engine on a database at the newest migration, for a test's own use.

    A new SQLite file starts as a copy of the session's migrated one: migrating costs about half a second a
    test, copying a millisecond, and the copy is the migrations' own result.  Postgres schemas are migrated."""
    sqlite_file = database_url.removeprefix("sqlite:///")
    if sqlite_file != database_url and not Path(sqlite_file).exists():
        shutil.copyfile(migrated_sqlite, sqlite_file)
        return make_engine(database_url)
    eng = make_engine(database_url)
    upgrade_database(eng)
    return eng


@pytest.fixture
def engine(database_url: str, migrated_sqlite: Path) -> Iterator[Engine]:
    eng = migrated_engine(database_url, migrated_sqlite)
    yield eng
    eng.dispose()
