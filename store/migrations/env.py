"""Alembic environment: runs against the engine the caller hands over (see store/database.py)."""

from __future__ import annotations

from alembic import context

import store.erasure_tables
import store.exports_tables
import store.intake_tables
import store.jobs_tables  # noqa: F401  (job queue, ledger, run history)
from store.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
