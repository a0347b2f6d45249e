"""INSERT … ON CONFLICT, the one statement every store write that must not duplicate is built on.

SQLAlchemy spells it per dialect (`postgresql.insert` and `sqlite.insert` take the same arguments), and the
service runs on both: this is the one place that chooses, so a third database would be added here only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(dialect: str | Connection) -> Any:
    """`insert` with `on_conflict_do_nothing` / `on_conflict_do_update` for this dialect (a name or a connection)."""
    name = dialect if isinstance(dialect, str) else dialect.dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert
