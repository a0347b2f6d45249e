"""Group commit keeps every promise of the intake webhook while many posts share one transaction.

Posts are sent concurrently on one event loop (httpx over ASGI), so they meet in the writer's queue the way
concurrent connections do under uvicorn.  Database faults are real: triggers that refuse writes, and a second
connection that holds the lock the writer needs.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from service import create_app
from settings import load_settings
from store.database import make_engine, upgrade_database
from store.intake import InboxRepository, NewDelivery
from store.intake_tables import intake_inbox
from store.jobs_tables import jobs
from tests.web.helpers import SOURCES, compact, standard_headers, submission

URL = "/webhooks/intake/website"
Post = tuple[bytes, dict[str, str]]


def build_app(engine: Engine, **settings: Any) -> FastAPI:
    config = load_settings(
        database_url=engine.url.render_as_string(hide_password=False), intake_sources=SOURCES, **settings
    )
    return create_app(config, engine=engine)


def signed(msg_id: str, **fields: Any) -> Post:
    body = compact(submission(**fields))
    return body, standard_headers(body, msg_id=msg_id)


async def post_all(app: Any, posts: list[Post]) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as client:
        return list(await asyncio.gather(*(client.post(URL, content=body, headers=h) for body, h in posts)))


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(intake_inbox)).scalar_one()
        queued = conn.execute(select(func.count()).select_from(jobs)).scalar_one()
    return int(rows), int(queued)


def metric(app: FastAPI, name: str) -> float:
    async def scrape() -> str:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as c:
            return (await c.get("/metrics")).text

    match = re.search(rf"^{name} (\S+)$", asyncio.run(scrape()), re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def refuse_inserts(engine: Engine, table: str, *, delivery_id: str | None = None) -> None:
    """A trigger that makes the database itself refuse the write (all rows, or one delivery's)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            when = f"WHEN NEW.delivery_id = '{delivery_id}'" if delivery_id else ""
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} {when} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by the test trigger'; END $$"
                )
            )
            when = f"WHEN (NEW.delivery_id = '{delivery_id}')" if delivery_id else ""
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW {when} "
                    "EXECUTE FUNCTION refuse_write()"
                )
            )


def allow_inserts(engine: Engine, table: str) -> None:
    with engine.begin() as conn:
        on = "" if engine.dialect.name == "sqlite" else f" ON {table}"
        conn.execute(text(f"DROP TRIGGER refuse_{table}{on}"))


def test_concurrent_duplicates_of_one_delivery_make_one_inbox_row_and_one_job(web_engine: Engine) -> None:
    app = build_app(web_engine, intake_batch_wait_ms=200)
    body = compact(submission())
    # The sender fires the same delivery eight times at once (a retry storm): same webhook-id each time.
    posts = [(body, standard_headers(body, msg_id="msg_storm")) for _ in range(8)]
    responses = asyncio.run(post_all(app, posts))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [202]
    assert len({r.json()["receipt_id"] for r in responses}) == 1
    assert {r.json()["status"] for r in responses if r.status_code == 200} == {"duplicate"}
    assert counts(web_engine) == (1, 1)


def test_duplicates_mixed_with_new_posts_in_one_batch_each_get_their_own_answer(web_engine: Engine) -> None:
    app = build_app(web_engine, intake_batch_wait_ms=200, intake_batch_max=6)
    asyncio.run(post_all(app, [signed("msg_earlier")]))  # already stored before the batch
    posts = [
        signed("msg_new_1", email="one@example.org"),
        signed("msg_earlier"),
        signed("msg_new_2", email="two@example.org"),
        signed("msg_new_1", email="one@example.org"),
        signed("msg_new_3", email="three@example.org"),
        signed("msg_earlier"),
    ]
    responses = asyncio.run(post_all(app, posts))
    assert [r.status_code for r in responses] == [202, 200, 202, 200, 202, 200]
    assert responses[0].json()["receipt_id"] == responses[3].json()["receipt_id"]
    assert responses[1].json()["receipt_id"] == responses[5].json()["receipt_id"]
    assert counts(web_engine) == (4, 4)


def test_two_app_processes_racing_on_the_same_deliveries_store_each_once(web_engine: Engine) -> None:
    """Each app has its own writer and connection, as separate processes would; the unique constraint decides."""
    first, second = build_app(web_engine, intake_batch_wait_ms=50), build_app(web_engine, intake_batch_wait_ms=50)
    posts = [signed(f"msg_race_{n}", email=f"race{n}@example.org") for n in range(10)]

    async def race() -> tuple[list[httpx.Response], list[httpx.Response]]:
        a, b = await asyncio.gather(post_all(first, posts), post_all(second, list(reversed(posts))))
        return a, list(reversed(b))

    from_first, from_second = asyncio.run(race())
    for one, other in zip(from_first, from_second, strict=True):
        assert sorted([one.status_code, other.status_code]) == [200, 202]
        assert one.json()["receipt_id"] == other.json()["receipt_id"]
    assert counts(web_engine) == (10, 10)


def test_a_batch_that_cannot_commit_answers_503_with_retry_after_and_leaves_nothing_half_written(
    web_engine: Engine,
) -> None:
    app = build_app(web_engine, intake_batch_wait_ms=100)
    posts = [signed(f"msg_down_{n}", email=f"down{n}@example.org") for n in range(5)]
    # The job insert fails after the inbox rows went in, inside the same transaction.
    refuse_inserts(web_engine, "jobs")
    responses = asyncio.run(post_all(app, posts))
    for response in responses:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"] == "5"
        assert response.json()["type"] == "urn:ignite-sync:problem:unavailable"
    assert counts(web_engine) == (0, 0)  # no inbox row without its job: the whole transaction rolled back

    allow_inserts(web_engine, "jobs")
    retried = asyncio.run(post_all(app, posts))  # the senders retry the same deliveries later
    assert [r.status_code for r in retried] == [202] * 5  # nothing had been acknowledged, nothing was stored
    assert counts(web_engine) == (5, 5)


def test_one_submission_the_database_refuses_fails_alone_not_its_whole_batch(web_engine: Engine) -> None:
    app = build_app(web_engine, intake_batch_wait_ms=500, intake_batch_max=5)
    refuse_inserts(web_engine, "intake_inbox", delivery_id="msg_poison")
    posts = [signed(f"msg_fine_{n}", email=f"fine{n}@example.org") for n in range(4)]
    posts.insert(2, signed("msg_poison", email="poison@example.org"))
    responses = asyncio.run(post_all(app, posts))
    assert [r.status_code for r in responses] == [202, 202, 503, 202, 202]
    assert counts(web_engine) == (4, 4)
    # The five shared a batch that rolled back; then the poisoned post alone failed again.
    assert metric(app, "ignite_intake_commit_failures_total") == 2


def test_every_202_is_sent_only_once_its_row_and_job_are_committed(web_engine: Engine) -> None:
    """At the moment each 202 status line goes out, another connection already sees the row and its job."""
    app = build_app(web_engine, intake_batch_wait_ms=50)
    checked: list[bool] = []

    def committed() -> dict[str, int]:
        with web_engine.connect() as conn:
            rows = conn.execute(
                select(intake_inbox.c.receipt_id, jobs.c.id).join(jobs, jobs.c.id == intake_inbox.c.job_id)
            )
            return {receipt: job_id for receipt, job_id in rows}

    async def watched(scope: MutableMapping[str, Any], receive: Any, send: Callable[[Any], Awaitable[None]]) -> None:
        seen: dict[str, int] = {}

        async def spy(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 202:
                seen.update(committed())
            elif message["type"] == "http.response.body" and message.get("body") and seen:
                checked.append(json.loads(message["body"])["receipt_id"] in seen)
            await send(message)

        await app(scope, receive, spy)

    posts = [signed(f"msg_seen_{n}", email=f"seen{n}@example.org") for n in range(12)]
    responses = asyncio.run(post_all(watched, posts))
    assert [r.status_code for r in responses] == [202] * 12
    assert checked == [True] * 12


def test_no_answer_goes_out_while_the_database_holds_up_the_write(web_engine: Engine) -> None:
    app = build_app(web_engine)
    body, headers = signed("msg_held")

    async def scenario() -> tuple[bool, httpx.Response]:
        # Another transaction is writing the same delivery and has not finished: the writer must wait for it.
        with web_engine.connect() as blocker:
            blocker.begin()
            InboxRepository(blocker).insert_many(
                [NewDelivery("website", "msg_held", datetime.now(UTC), "application/json", body, None, None)]
            )
            post = asyncio.ensure_future(post_all(app, [(body, headers)]))
            await asyncio.sleep(0.5)
            answered_while_held = post.done()
            blocker.rollback()  # the other transaction gives up: nothing of it remains
        (response,) = await post
        return answered_while_held, response

    answered_while_held, response = asyncio.run(scenario())
    assert not answered_while_held
    assert response.status_code == 202
    assert counts(web_engine) == (1, 1)


def test_an_app_shut_down_and_served_again_still_accepts_posts(web_engine: Engine) -> None:
    app = build_app(web_engine)
    for n in range(2):
        with TestClient(app) as client:  # runs the lifespan: the writer drains and stops on the way out
            body, headers = signed(f"msg_served_{n}")
            assert client.post(URL, content=body, headers=headers).status_code == 202
    assert counts(web_engine) == (2, 2)


def test_a_lost_database_connection_costs_one_batch_a_503_not_the_writer(database_url: str) -> None:
    """Postgres restarts or drops the writer's connection: that batch is refused, the next one reconnects."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server-side connection kill needs Postgres")
    name = f"ignite-writer-{uuid.uuid4().hex[:8]}"
    engine = make_engine(database_url, connect_args={"application_name": name})
    upgrade_database(engine)
    try:
        app = build_app(engine)
        assert [r.status_code for r in asyncio.run(post_all(app, [signed("msg_before")]))] == [202]
        with engine.begin() as conn:  # the server ends the writer's session (as a restart or failover would)
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).scalar_one()
        assert killed >= 1
        lost = asyncio.run(post_all(app, [signed("msg_during")]))
        assert [r.status_code for r in lost] == [503]
        assert lost[0].headers["retry-after"] == "5"
        retried = asyncio.run(post_all(app, [signed("msg_during"), signed("msg_after")]))
        assert [r.status_code for r in retried] == [202, 202]
        assert counts(engine) == (3, 3)
    finally:
        engine.dispose()
