"""The unit of work: the one place a transaction commits."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

from store.records import RecordKind
from store.repository import RecordRepository


class UnitOfWork:
    """`with UnitOfWork(engine) as uow: ...; uow.commit()` — anything not committed is rolled back on exit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> UnitOfWork:
        self._connection = self.engine.connect()
        self._connection.begin()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                self._connection.rollback()
        finally:
            self._connection.close()
            self._connection = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open; use it as a context manager")
        return self._connection

    def records(self, kind: RecordKind | str) -> RecordRepository:
        return RecordRepository(self.connection, kind)

    def commit(self) -> None:
        self.connection.commit()
        self.connection.begin()

    def rollback(self) -> None:
        self.connection.rollback()
        self.connection.begin()
