"""Import throughput and memory: `ignite-sync import` against a raw csv + executemany load of the same rows.

Prints rows/s for both and their ratio, and the import's peak traced memory on a small and a large file: a
streamed import keeps the two about equal however large the file grows.  Run `python bench/bench_import.py`
(about 100 MB of CSV) or `--quick` (a few MB, used by the test suite).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert

from ingest import import_file
from models import Organization
from store import tables
from store.database import make_engine, upgrade_database
from store.unit_of_work import UnitOfWork

HEADER = ["email", "first_name", "last_name", "role", "job_title", "organization", "phone"]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(
                [f"person.{n}@bench-{n % 97}.example", "Zoë", "Okafor-García", ["clinician", "administrator"][n % 2],
                 "Nurse Practitioner at the rural clinic", "org:bench", f"+1-555-{n % 1000:03d}-{n % 10000:04d}"]
            )  # fmt: skip


def raw_load(engine_url: str, path: Path) -> float:
    """Baseline: parse the CSV and executemany-insert it, no validation, no hashing, no checks."""
    engine = make_engine(engine_url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as conn, path.open(newline="", encoding="utf-8") as stream:
        batch = []
        for row in csv.DictReader(stream):
            batch.append({**row, "key": row["email"], "payload_hash": "x", "updated_at": now})
            if len(batch) == 1000:
                conn.execute(insert(tables.participants), batch)
                batch = []
        if batch:
            conn.execute(insert(tables.participants), batch)
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(delete(tables.participants))
    return elapsed


def project_load(engine_url: str, path: Path, *, trace: bool = False) -> tuple[float, int]:
    """Timed without tracing (tracemalloc slows Python down); traced separately for the memory figure."""
    engine = make_engine(engine_url)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    report = import_file(engine, "participants", path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    assert report.rejected == 0, report.problems[:3]
    with engine.begin() as conn:
        conn.execute(delete(tables.participants))
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small files, for the test suite")
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else (80_000, 800_000)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        upgrade_database(engine)
        with UnitOfWork(engine) as uow:
            uow.records("organizations").upsert_many([Organization(key="org:bench", name="Bench", kind="other")])
            uow.commit()
        small_csv, large_csv = Path(tmp) / "small.csv", Path(tmp) / "large.csv"
        write_csv(small_csv, small)
        write_csv(large_csv, large)
        size_mb = large_csv.stat().st_size / 1e6
        raw_s = raw_load(url, large_csv)
        project_s, _ = project_load(url, large_csv)
        _, peak_large = project_load(url, large_csv, trace=True)
        _, peak_small = project_load(url, small_csv, trace=True)
    print(f"import of {large:,} participants ({size_mb:.0f} MB CSV) into SQLite")
    print(f"{'':28}{'baseline (raw)':>16}{'ignite-sync':>14}{'ratio':>8}")
    print(f"{'rows/s':28}{large / raw_s:>16,.0f}{large / project_s:>14,.0f}{raw_s / project_s:>8.2f}")
    print(
        f"{'peak traced MB, small/large':28}{peak_small / 1e6:>16.1f}{peak_large / 1e6:>14.1f}"
        f"{peak_large / peak_small:>8.2f}"
    )
    print("memory ratio near 1.0 means the import is streamed (memory does not grow with the file)")


if __name__ == "__main__":
    main()
