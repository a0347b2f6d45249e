"""Group commit: many requests, one writer, one transaction per batch, each request answered after the commit.

A commit is the expensive part of an intake post (SQLite has a single writer; Postgres waits for the WAL flush),
and paying it once per request caps throughput at one commit per request.  Here request handlers hand their
item to a single writer thread and await a future.  The writer takes whatever is pending (up to `max_batch`,
waiting at most `max_wait` seconds for stragglers once it has one item), writes them all in one transaction on
its own connection, commits, and only then resolves each request's future.  So a request's answer still means
"committed": batching changes how many requests share a commit, never what an answer promises.

When a batch fails nothing of it was committed, and every request in it gets `WriterUnavailable` (the web layer
answers 503 with Retry-After, so the sender retries; nothing was acknowledged).  One exception to "the batch
fails together": a failure that is not the database going away (an integrity or data error) may be one
poisonous item, so the batch is retried one item per transaction and only the items that fail again are refused.

The thread starts on the first submit and stops after `idle_seconds` without work, closing its connection, so
an idle app (or a test that builds many apps) holds no connection and no thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger("ignite.intake")

T = TypeVar("T")
R = TypeVar("R")


class WriterUnavailable(Exception):
    """Nothing was stored for this item (its batch failed, or the writer is overloaded or closed): retry later."""


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    item: T
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[R]


_STOP = object()


class GroupCommitWriter(Generic[T, R]):
    """`write(connection, items)` returns one result per item, in order, inside the transaction the writer commits.

    `write` must keep each item's outcome independent of its neighbours (idempotency per item, not per batch);
    an exception from it fails the whole batch, which is then rolled back.
    """

    def __init__(
        self,
        engine: Engine,
        write: Callable[[Connection, Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 256,
        max_wait: float = 0.0,
        max_pending: int = 10_000,
        idle_seconds: float = 2.0,
        prepare: Callable[[Connection], None] | None = None,
        on_commit: Callable[[int], None] | None = None,
        on_rollback: Callable[[int], None] | None = None,
        name: str = "group-commit",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.engine = engine
        self.write = write
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_pending = max_pending
        self.idle_seconds = idle_seconds
        self.prepare = prepare
        self.on_commit = on_commit
        self.on_rollback = on_rollback
        self.name = name
        self._queue: queue.SimpleQueue[_Pending[T, R] | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def submit(self, item: T) -> R:
        """Hand `item` to the writer; returns its result once its batch is committed, else WriterUnavailable."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        with self._lock:
            if self._closed:
                raise WriterUnavailable("the writer is shut down")
            if self._queue.qsize() >= self.max_pending:
                raise WriterUnavailable(f"{self.max_pending} items already wait for the writer")
            self._queue.put(_Pending(item, loop, future))
            if self._thread is None:
                self._start()
        return await future

    def open(self) -> None:
        """Accept items again after `close` (an app served a second time, as a test client can do)."""
        with self._lock:
            self._closed = False

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new items, write those already handed over, stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    # -- the writer thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        connection: Connection | None = None
        batch: list[_Pending[T, R]] = []
        try:
            while True:
                batch, stop = self._gather()
                if batch:
                    connection = self._commit(connection, batch)
                    batch = []
                if stop:
                    return
        except BaseException:
            # Not even a batch failure (those are caught in _commit): never leave its requests waiting forever.
            self._settle(batch, [WriterUnavailable("the writer stopped")] * len(batch))
            raise
        finally:
            if connection is not None:
                connection.close()
            with self._lock:  # however the thread ends, what is still queued gets a thread of its own
                if self._thread is threading.current_thread():
                    self._thread = None
                if self._thread is None and not self._closed and not self._queue.empty():
                    self._start()

    def _start(self) -> None:
        """Called with the lock held."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _gather(self) -> tuple[list[_Pending[T, R]], bool]:
        """The next batch, and whether the thread should stop after writing it (idle or closing)."""
        try:
            first = self._queue.get(timeout=self.idle_seconds)
        except queue.Empty:
            with self._lock:  # submit() puts under this lock, so nothing can slip in between check and exit
                if self._queue.empty():
                    self._thread = None
                    return [], True
            return [], False
        if first is _STOP:
            return self._drain([]), True
        batch: list[_Pending[T, R]] = [first]  # type: ignore[list-item]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is _STOP:
                return self._drain(batch), True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

    def _drain(self, batch: list[_Pending[T, R]]) -> list[_Pending[T, R]]:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch
            if item is not _STOP:
                batch.append(item)  # type: ignore[arg-type]

    def _commit(self, connection: Connection | None, batch: list[_Pending[T, R]]) -> Connection | None:
        try:
            connection = connection or self._connect()
            with connection.begin():
                results = list(self.write(connection, [p.item for p in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"write returned {len(results)} results for {len(batch)} items")
        except Exception as exc:
            one_by_one = len(batch) > 1 and not _database_gone(exc)
            log.warning(
                "%s: a batch of %d was rolled back (%s); %s",
                self.name,
                len(batch),
                type(exc).__name__,
                "retrying its items one per transaction" if one_by_one else "its senders are told to retry",
            )
            if self.on_rollback is not None:
                self.on_rollback(len(batch))
            if connection is not None:
                connection.close()  # whatever state it is in, the next batch starts on a fresh one
            if one_by_one:
                # Perhaps one poisonous item: give every item its own transaction, so only the culprit is refused.
                connection = None
                for pending in batch:
                    connection = self._commit(connection, [pending])
                return connection
            failure = WriterUnavailable(f"the batch was not committed ({type(exc).__name__})")
            self._settle(batch, [failure] * len(batch))
            return None
        self._settle(batch, results)
        if self.on_commit is not None:
            self.on_commit(len(batch))
        return connection

    def _connect(self) -> Connection:
        # Detached from the pool: the writer owns it outright, closing it really closes it, and disposing
        # the engine's pool (tests do, between databases) neither strands it nor hands it to anyone else.
        connection = self.engine.connect()
        connection.detach()
        if self.prepare is not None:
            self.prepare(connection)
            connection.commit()
        return connection

    def _settle(self, batch: list[_Pending[T, R]], outcomes: Sequence[R | BaseException]) -> None:
        """Resolve the futures: one hop into each event loop per batch, not one per request."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[R], R | BaseException]]] = {}
        for pending, outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
        for loop, pairs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, pairs)
            except RuntimeError:  # the loop is closed: nobody is waiting for these answers any more
                log.debug("%s: %d results for a closed event loop", self.name, len(pairs))


def _resolve(pairs: list[tuple[asyncio.Future[R], R | BaseException]]) -> None:
    for future, outcome in pairs:
        if future.done():  # the request was cancelled (client went away); its row may well be committed
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _database_gone(exc: BaseException) -> bool:
    """Connection-level failures (server down, file locked, network): every item would fail alike."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
