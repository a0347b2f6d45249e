"""A worker process for the intake reliability test: real Worker and IntakeHandler, a slow local CRM whose
first write of one chosen message times out after applying (MaybeAppliedError), and a fast retry
policy.  Run as a script: `python intake_worker_process.py DATABASE_URL CRM_URL MARKER FLAKY_MESSAGE`.
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
    """The first write that carries the chosen message (whatever object and call) applies, then its answer is
    lost; once across both processes, whoever creates the marker file first."""

    marker: Path
    flaky_text: str

    def query(self, soql: str) -> Any:
        time.sleep(CRM_LATENCY)
        return list(super().query(soql))

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Any]) -> list[RowResult]:
        time.sleep(CRM_LATENCY)
        return self._maybe_time_out(object_name, records, super().upsert(object_name, external_id_field, records))

    def update(self, object_name: str, records: Sequence[Any]) -> list[RowResult]:
        time.sleep(CRM_LATENCY)
        return self._maybe_time_out(object_name, records, super().update(object_name, records))

    def _maybe_time_out(self, object_name: str, records: Sequence[Any], results: list[RowResult]) -> list[RowResult]:
        if not any(self.flaky_text in str(r.get("Description") or "") for r in records):
            return results
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return results
        raise MaybeAppliedError(f"{object_name}: ReadTimeout before a complete answer (the write applied)")


def main(database_url: str, crm_url: str, marker: str, flaky_text: str) -> int:
    SlowFlakyCrm.marker = Path(marker)
    SlowFlakyCrm.flaky_text = flaky_text
    engine = make_engine(database_url)
    handler = IntakeHandler(engine, lambda: SlowFlakyCrm.open(crm_url), load_profile("npsp_pmm"))
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
