"""The keys one import has already kept, so a file naming a record twice is reported, not merged.

They live in a temporary table on the import's own connection, not in Python: an import streams a 100 MB file
with flat memory, and a set of every key would grow with the file.  The table is private to the connection
(no other session sees it), created for one import and dropped at its end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Column, Connection, MetaData, String, Table, select

_metadata = MetaData()
_seen = Table(
    "ignite_import_seen_keys",
    _metadata,
    Column("key", String, primary_key=True),
    Column("location", String, nullable=False),
    prefixes=["TEMPORARY"],
)


class SeenKeys:
    """Where each key was first kept in this import (`file:line`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        _seen.drop(connection, checkfirst=True)  # left over by an import on this pooled connection that crashed
        _seen.create(connection)

    def first_locations(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(set(keys))
        if not wanted:
            return {}
        rows = self.connection.execute(select(_seen.c.key, _seen.c.location).where(_seen.c.key.in_(wanted)))
        return {key: location for key, location in rows}

    def add(self, kept: Mapping[str, str]) -> None:
        if kept:
            self.connection.execute(
                _seen.insert(), [{"key": key, "location": location} for key, location in kept.items()]
            )

    def close(self) -> None:
        _seen.drop(self.connection, checkfirst=True)
