"""Per-person lanes for intake deliveries: two deliveries for the same email never run at the same time.

Why: a delivery looks for the person's Contact or open Lead and creates a Lead when there is none.  Two
deliveries for one new person running at once would both find nothing and make two Leads.  Serialising
them is the only fix that does not depend on timing; hoping the CRM's duplicate rules catch it is not one.

How: the lane is a lock keyed by the submission's email hash, held for the whole delivery.

- Within a process (worker threads), a striped set of thread locks: bounded memory, and two people who share a
  stripe merely wait for each other.
- Across processes on Postgres, `pg_advisory_xact_lock` on a connection of its own, in a transaction held open
  for the delivery.  The database is the one thing every worker shares; the lock needs no table, no
  migration and no change to how jobs are claimed; and it can never be left behind: when a worker dies, its
  connection closes and Postgres releases the lock.  A per-person lane in the job queue would also work, but
  every claim would then have to look at running jobs of the same person, which costs every job a join for a
  rare case, and a crashed worker's lane would stay blocked until its lease expired.
- SQLite is the single-worker deployment (one worker process; its queue claims are serialised by SQLite's one
  writer), so the thread locks are the whole lane there.  Holding SQLite's write lock for the length of a CRM
  call instead would stop the webhook from storing posts for that long.

The key is 32 bits of the hash under a fixed namespace, so a collision between two people only makes them
wait for each other, never lets two deliveries for one person run together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

# The first key of the two-key advisory lock: "intake lanes", so other advisory locks in the database can
# never collide with these.  (0x49474e4c is "IGNL".)
LANE_NAMESPACE = 0x49474E4C
_STRIPES = 256
_thread_locks = [threading.Lock() for _ in range(_STRIPES)]


def lane_number(email_hash: str) -> int:
    """A signed 32-bit number from the hex email hash (Postgres' advisory lock keys are int4)."""
    value = int(email_hash[:8], 16) if email_hash else 0
    return value - (1 << 32) if value >= 1 << 31 else value


@contextmanager
def person_lane(engine: Engine, email_hash: str) -> Iterator[None]:
    """Hold the person's lane for the body of the `with`: no other delivery for the same email hash (in this
    process, or on Postgres in any process) runs until it ends."""
    number = lane_number(email_hash)
    with _thread_locks[number % _STRIPES]:
        if engine.dialect.name != "postgresql":
            yield
            return
        with engine.connect() as connection, connection.begin():
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:namespace, :number)"),
                {"namespace": LANE_NAMESPACE, "number": number},
            )
            yield
