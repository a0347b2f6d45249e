"""The group-commit writer on a real SQLite database: batching, back-pressure, shutdown and idling."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, func, select

from store.database import make_engine
from webhooks.group_commit import GroupCommitWriter, WriterUnavailable

metadata = MetaData()
items = Table("items", metadata, Column("value", Integer, primary_key=True))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'writer.db'}")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


class Recorder:
    """A write function that stores its items and remembers the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, connection: Connection, values: Sequence[int]) -> list[int]:
        self.gate.wait(10)
        self.batches.append(list(values))
        connection.execute(items.insert(), [{"value": v} for v in values])
        return [v * 10 for v in values]


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(items)).scalar_one())


def test_items_waiting_together_are_written_in_one_transaction_and_each_gets_its_own_result(engine: Engine) -> None:
    recorder = Recorder()
    writer: GroupCommitWriter[int, int] = GroupCommitWriter(engine, recorder, max_batch=10, max_wait=1.0)

    async def submit_all() -> list[int]:
        return list(await asyncio.gather(*(writer.submit(v) for v in range(1, 11))))

    assert asyncio.run(submit_all()) == [v * 10 for v in range(1, 11)]
    assert recorder.batches == [list(range(1, 11))]
    assert stored(engine) == 10
    writer.close()


def test_batches_never_exceed_their_bound(engine: Engine) -> None:
    recorder = Recorder()
    writer: GroupCommitWriter[int, int] = GroupCommitWriter(engine, recorder, max_batch=4, max_wait=0.2)

    async def submit_all() -> list[int]:
        return list(await asyncio.gather(*(writer.submit(v) for v in range(1, 11))))

    asyncio.run(submit_all())
    assert max(len(batch) for batch in recorder.batches) <= 4
    assert sorted(v for batch in recorder.batches for v in batch) == list(range(1, 11))
    writer.close()


def test_a_full_queue_refuses_at_once_instead_of_growing_without_bound(engine: Engine) -> None:
    recorder = Recorder()
    recorder.gate.clear()  # the database is slow: the first batch hangs until the gate opens
    writer: GroupCommitWriter[int, int] = GroupCommitWriter(engine, recorder, max_batch=1, max_pending=2)

    async def scenario() -> list[int | str]:
        first = asyncio.ensure_future(writer.submit(1))
        await asyncio.sleep(0.2)  # the writer holds item 1 and waits on the database
        queued = [asyncio.ensure_future(writer.submit(v)) for v in (2, 3)]
        await asyncio.sleep(0)
        try:
            await writer.submit(4)
            refused = "accepted"
        except WriterUnavailable:
            refused = "refused"
        recorder.gate.set()
        return [await first, *[await q for q in queued], refused]

    assert asyncio.run(scenario()) == [10, 20, 30, "refused"]
    assert stored(engine) == 3
    writer.close()


def test_closing_writes_what_was_handed_over_and_then_refuses(engine: Engine) -> None:
    recorder = Recorder()
    writer: GroupCommitWriter[int, int] = GroupCommitWriter(engine, recorder, max_wait=0.05)

    async def scenario() -> list[int]:
        pending = [asyncio.ensure_future(writer.submit(v)) for v in (1, 2, 3)]
        await asyncio.sleep(0)
        await asyncio.to_thread(writer.close)
        return [await p for p in pending]

    assert asyncio.run(scenario()) == [10, 20, 30]

    async def after_close() -> int:
        return await writer.submit(4)

    with pytest.raises(WriterUnavailable):
        asyncio.run(after_close())
    assert stored(engine) == 3


def test_an_idle_writer_lets_go_of_its_thread_and_comes_back_when_needed(engine: Engine) -> None:
    recorder = Recorder()
    writer: GroupCommitWriter[int, int] = GroupCommitWriter(engine, recorder, idle_seconds=0.05, name="idle-test")

    def writer_threads() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "idle-test")

    assert asyncio.run(writer.submit(1)) == 10
    deadline = time.monotonic() + 5
    while writer_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer_threads() == 0
    assert asyncio.run(writer.submit(2)) == 20
    assert stored(engine) == 2
    writer.close()


def test_a_write_that_raises_fails_its_items_and_the_next_batch_starts_clean(engine: Engine) -> None:
    calls: list[list[int]] = []

    def flaky(connection: Connection, values: Sequence[int]) -> list[int]:
        calls.append(list(values))
        connection.execute(items.insert(), [{"value": v} for v in values])
        if len(calls) == 1:
            raise ConnectionError("the disk went away mid-batch")
        return list(values)

    writer: GroupCommitWriter[int, int] = GroupCommitWriter(engine, flaky)

    async def one(value: int) -> int | str:
        try:
            return await writer.submit(value)
        except WriterUnavailable:
            return "unavailable"

    assert asyncio.run(one(1)) == "unavailable"
    assert asyncio.run(one(2)) == 2
    assert stored(engine) == 1  # item 1's insert was rolled back with its batch
    writer.close()
