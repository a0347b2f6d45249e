"""Sync throughput, unchanged-resync cost and memory: the engine against the embedded local CRM.

A generated program (the demo generator: enrolments and six sessions of attendance per participant, about
eight CRM rows per participant) is seeded, synced in full, then synced again unchanged.  Printed:

- rows/s of the full sync, against a baseline of bare upserts of ready-made rows into the same local CRM
  (the floor of what any sync could cost there);
- the unchanged resync's time as a share of the full sync (target: at most 5%) and its CRM writes (0);
- peak RSS of a sync at about 100,000 and about 1,000,000 CRM rows, each in its own process (target: under
  300 MB at 1,000,000 rows, and not growing in proportion to the data).

`python bench/bench_sync.py` runs the full sizes (100,000 participants; many minutes), `--quick` small ones,
`--participants 2000` a size in between (the memory sizes scale with it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS_PER_PARTICIPANT = 8  # contact, enrolment, six attendance rows (plus a few cohort-level rows)


def child(participants: int, baseline: bool) -> dict[str, Any]:
    from demo.generator import generate
    from demo.seed import seed
    from settings import load_settings
    from store.database import make_engine, upgrade_database
    from sync.runner import run_sync
    from wiring import Wiring, open_local_crm

    scratch = tempfile.TemporaryDirectory(prefix="bench-sync-")
    directory = Path(scratch.name)
    engine = make_engine(f"sqlite:///{directory / 'service.db'}")
    upgrade_database(engine)
    seed(engine, generate(participants))
    crm_url = f"sqlite:///{directory / 'crm.db'}"
    crm = open_local_crm(crm_url, "npsp_pmm")
    options = Wiring(load_settings(profile="npsp_pmm")).sync_options()

    started = time.perf_counter()
    full = run_sync(engine, crm, options)
    full_seconds = time.perf_counter() - started
    rows = sum(c["created"] + c["updated"] + c["matched"] for c in full.by_object().values())

    calls_before = crm.counter.total
    started = time.perf_counter()
    again = run_sync(engine, crm, options)
    unchanged_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "participants": participants,
        "rows": rows,
        "status": full.status,
        "full_seconds": full_seconds,
        "unchanged_seconds": unchanged_seconds,
        "unchanged_calls": crm.counter.total - calls_before,
        "unchanged_status": again.status,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if baseline:
        result["baseline_seconds"] = bare_upserts(directory, rows)
    crm.close()
    engine.dispose()
    scratch.cleanup()
    return result


def bare_upserts(directory: Path, rows: int) -> float:
    """Baseline: the same number of ready-made Contact rows upserted in batches of 2000, nothing else."""
    from wiring import open_local_crm

    crm = open_local_crm(f"sqlite:///{directory / 'baseline.db'}", "npsp_pmm")
    payloads = [
        {"Ignite_Key__c": f"participant:{n:024x}", "LastName": "Okafor", "FirstName": "Zoë", "Email": f"p{n}@x.example"}
        for n in range(rows)
    ]
    started = time.perf_counter()
    for start in range(0, rows, 2000):
        crm.upsert("Contact", "Ignite_Key__c", payloads[start : start + 2000])
    elapsed = time.perf_counter() - started
    crm.close()
    return elapsed


def run_child(participants: int, baseline: bool = False) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", str(participants)] + (["--baseline"] if baseline else [])
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench child ({participants} participants) failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds), as the test suite runs it")
    parser.add_argument(
        "--participants", type=int, help="the measured size (the two memory sizes scale with it); e.g. 2000"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.baseline)))
        return 0

    main_size, small, large = (200, 100, 800) if args.quick else (100_000, 12_500, 125_000)
    if args.participants:
        main_size, small, large = args.participants, max(args.participants // 8, 1), args.participants * 5 // 4
    measured = run_child(main_size, baseline=True)
    rate = measured["rows"] / measured["full_seconds"]
    baseline_rate = measured["rows"] / measured["baseline_seconds"]
    resync_share = measured["unchanged_seconds"] / measured["full_seconds"]
    low = run_child(small)
    high = run_child(large)

    print(f"sync of {measured['participants']:,} participants ({measured['rows']:,} CRM rows) to the local CRM")
    print(f"{'measure':<44}{'baseline':>14}{'project':>14}{'ratio':>9}")
    print(
        f"{'rows/s (bare upserts vs full sync)':<44}{baseline_rate:>14,.0f}{rate:>14,.0f}{rate / baseline_rate:>9.2f}"
    )
    print(
        f"{'seconds (full sync vs unchanged resync)':<44}{measured['full_seconds']:>14.2f}"
        f"{measured['unchanged_seconds']:>14.2f}{resync_share:>9.3f}"
    )
    print(
        f"{'peak RSS MB (' + format(low['rows'], ',') + ' vs ' + format(high['rows'], ',') + ' rows)':<44}"
        f"{low['peak_rss_mb']:>14.0f}{high['peak_rss_mb']:>14.0f}{high['peak_rss_mb'] / low['peak_rss_mb']:>9.2f}"
    )
    print(f"unchanged resync CRM calls: {measured['unchanged_calls']} (target 0)")
    print(f"targets: unchanged resync ≤ 5% of the full sync ({'met' if resync_share <= 0.05 else 'MISSED'}); ", end="")
    print(f"peak RSS < 300 MB at the large size ({'met' if high['peak_rss_mb'] < 300 else 'MISSED'})")
    bad = [m for m in (measured, low, high) if m["status"] != "succeeded" or m["unchanged_calls"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
