"""Three ways to upsert N Contacts into Salesforce, through the sandbox over real HTTPS, in one process.

- naive baseline: one `sf.Contact.upsert('Ignite_Key__c/…', {...})` call per record, as a typical script does;
- sObject Collections: `SalesforceConnector` with Bulk switched off (200 records per call);
- Bulk API 2.0: `SalesforceConnector` with the Bulk threshold at 1 (one job: create, upload, close, poll, results).

Targets (issue 5): Collections uses at most ceil(N/200) + 5 calls; Bulk's calls do not grow with N apart from
polling; both are at least 10x faster than the naive baseline.  `--quick` runs 600 rows to prove the script
works; timings that small are noise, so quick mode reports but never fails on them.

    python bench/bench_salesforce_paths.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from simple_salesforce.api import Salesforce

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.salesforce import SalesforcePolicy  # noqa: E402
from mappings.snapshots import load_describes  # noqa: E402
from sandbox.harness import SandboxHarness  # noqa: E402


def rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "LastName": f"Last{i}",
            "FirstName": f"First{i}",
            "Email": f"p{i}@example.org",
            "Ignite_Key__c": f"participant:{i}",
        }
        for i in range(n)
    ]


def naive(harness: SandboxHarness, data: list[dict[str, Any]]) -> tuple[float, int]:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the sandbox's CA
    session.verify = str(harness.ca_bundle)
    sf = Salesforce(session_id=harness.session_id, instance_url=harness.url, session=session, version="62.0")
    contact = sf.Contact
    started = time.perf_counter()
    calls = 0
    for record in data:
        body = {k: v for k, v in record.items() if k != "Ignite_Key__c"}
        status = contact.upsert(f"Ignite_Key__c/{quote(record['Ignite_Key__c'], safe='')}", body)
        calls += 1
        if status not in (200, 201, 204):
            raise SystemExit(f"naive upsert failed with HTTP {status}")
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed, calls


def connector_run(
    harness: SandboxHarness, data: list[dict[str, Any]], policy: SalesforcePolicy
) -> tuple[float, int, dict[str, int]]:
    connector = harness.connector(policy=policy, timeout=120)
    started = time.perf_counter()
    results = connector.upsert("Contact", "Ignite_Key__c", data)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if not r.success]
    if failed:
        raise SystemExit(f"{len(failed)} rows failed, first: {failed[0].error_code} {failed[0].message}")
    return elapsed, connector.counter.total, dict(connector.counter.calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 rows, no target check")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args(argv)
    n = 600 if args.quick else args.rows
    data = rows(n)
    describes = load_describes("npsp_pmm")
    with tempfile.TemporaryDirectory() as tmp:
        harness = SandboxHarness(Path(tmp), describes)
        try:
            harness.use(describes)
            naive_time, naive_calls = naive(harness, data)
            harness.use(describes)
            coll_time, coll_calls, _ = connector_run(harness, data, SalesforcePolicy(bulk_threshold=10**9))
            harness.use(describes)
            bulk_time, bulk_calls, bulk_kinds = connector_run(
                harness, data, SalesforcePolicy(bulk_threshold=1, bulk_poll_initial=0.05, bulk_poll_max=0.5)
            )
        finally:
            harness.stop()

    print(f"{n:,} Contacts upserted through the sandbox over HTTPS")
    print(f"{'path':<34}{'API calls':>10}{'seconds':>10}{'rows/s':>10}{'speed ratio':>13}")
    for name, seconds, calls in (
        ("baseline: naive, 1 call per record", naive_time, naive_calls),
        ("sObject Collections (200/call)", coll_time, coll_calls),
        ("Bulk API 2.0 (one job)", bulk_time, bulk_calls),
    ):
        print(f"{name:<34}{calls:>10,}{seconds:>10.2f}{n / seconds:>10,.0f}{naive_time / seconds:>12.1f}x")
    polls = bulk_kinds.get("bulk", 0) - 6  # create, upload, close, 3 result files
    coll_budget = math.ceil(n / 200) + 5
    print(
        f"targets: Collections calls <= ceil(N/200)+5 = {coll_budget}; Bulk calls = 6 + {polls} polls; "
        "both >= 10x faster than the baseline"
    )
    checks = {
        "collections calls": coll_calls <= coll_budget,
        "bulk calls independent of N": bulk_calls - polls == 6,
        "collections >= 10x": naive_time / coll_time >= 10,
        "bulk >= 10x": naive_time / bulk_time >= 10,
    }
    print("result: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in checks.items()))
    if args.quick:
        return 0
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
