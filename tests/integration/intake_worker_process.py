"""A worker process for the intake reliability test: real Worker and IntakeHandler, a slow local CRM whose
first Task upsert for one chosen submission times out after applying (MaybeAppliedError), and a fast retry
policy.  Run as a script: `python intake_worker_process.py DATABASE_URL CRM_URL MARKER FLAKY_KEY`.
It works with two threads until no intake job is queued, running or waiting to retry, then exits 0."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connector.base import RowResult
from connector.local import LocalCrm
from connector.salesforce.errors import MaybeAppliedError
from mappings.profile import load_profile
from store.database import make_engine
from store.jobs import JobRepository
from sync.intake import INTAKE_JOB, IntakeHandler
from sync.retry import RetryPolicy
from sync.worker import Worker

CRM_LATENCY = 0.005  # seconds per call: a real CRM takes longer, which only widens the races this test hunts


class SlowFlakyCrm(LocalCrm):
    marker: Path
    flaky_key: str

    def query(self, soql: str) -> Any:
        time.sleep(CRM_LATENCY)
        return list(super().query(soql))

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Any]) -> list[RowResult]:
        time.sleep(CRM_LATENCY)
        results = super().upsert(object_name, external_id_field, records)
        if object_name == "Task" and any(r.get(external_id_field) == self.flaky_key for r in records):
            try:  # once across both processes: whoever creates the marker times out
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return results
            raise MaybeAppliedError("upsert Task: ReadTimeout before a complete answer (applied)")
        return results


def main(database_url: str, crm_url: str, marker: str, flaky_key: str) -> int:
    SlowFlakyCrm.marker = Path(marker)
    SlowFlakyCrm.flaky_key = flaky_key
    engine = make_engine(database_url)
    handler = IntakeHandler(engine, lambda: SlowFlakyCrm.open(crm_url), load_profile("npsp_pmm"), keep_connector=False)
    stop = threading.Event()
    retry = RetryPolicy(base_seconds=0.05, cap_seconds=0.2)

    def work() -> None:
        Worker(engine, {INTAKE_JOB: handler}, poll_seconds=0.02, retry=retry, stop=stop, lease_seconds=30).run()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            counts = JobRepository(conn).counts_by_state()
        if not any(counts.get(state) for state in ("queued", "running", "failed")):
            break
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
