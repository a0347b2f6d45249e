"""Local CRM upsert throughput: 100,000 Contacts in batches of 200, against raw SQLAlchemy executemany.

Targets (issue 4): the local CRM sustains at least 25% of the raw insert rate, and a second, unchanged upsert
pass (every row matched, nothing created) is no slower than the first.  Both runs use the same SQLite file,
the same rows and the same batch size, in this process.  `--quick` runs 2,000 rows to prove the script works
(timings that small are noise, so quick mode never fails on them).

    python bench/bench_local_crm.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, create_engine, event, insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.local import LocalCrm  # noqa: E402

BATCH = 200


def field(name: str, ftype: str = "string", length: int = 0, **props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "type": ftype,
        "length": length,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": False,
        "externalId": False,
        "idLookup": False,
        "unique": False,
        "picklistValues": [],
        "referenceTo": [],
        "relationshipName": None,
        "restrictedPicklist": False,
    }
    base.update(props)
    return base


DESCRIBES = {
    "Account": {
        "keyPrefix": "001",
        "fields": [
            field("Id", "id", 18, nillable=False, createable=False, updateable=False, defaultedOnCreate=True),
            field("Name", length=255, nillable=False),
            field("Ignite_Key__c", length=80, externalId=True, idLookup=True, unique=True),
        ],
    },
    "Contact": {
        "keyPrefix": "003",
        "fields": [
            field("Id", "id", 18, nillable=False, createable=False, updateable=False, defaultedOnCreate=True),
            field("FirstName", length=40),
            field("LastName", length=80, nillable=False),
            field("Email", "email", 80),
            field("Title", length=128),
            field("Phone", "phone", 40),
            field("HasOptedOutOfEmail", "boolean", nillable=False, defaultedOnCreate=True),
            field("Years_In_Role__c", "double"),
            field(
                "Clinical_Role__c",
                "picklist",
                255,
                restrictedPicklist=True,
                picklistValues=[{"value": v, "active": True} for v in ("Nurse", "Physician", "Administrator", "Other")],
            ),
            field("Ignite_Key__c", length=80, externalId=True, idLookup=True, unique=True),
        ],
    },
}
ROLES = ("Nurse", "Physician", "Administrator", "Other")


def make_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "FirstName": f"First{i}",
            "LastName": f"Last{i}",
            "Email": f"person{i}@hospital{i % 97}.org",
            "Title": "Chief Nursing Officer" if i % 3 else "Hospitalist",
            "Phone": f"+1 904 555 {i % 10000:04d}",
            "HasOptedOutOfEmail": i % 11 == 0,
            "Years_In_Role__c": float(i % 40),
            "Clinical_Role__c": ROLES[i % 4],
            "Ignite_Key__c": f"participant:{i:08d}",
        }
        for i in range(n)
    ]


def baseline(url: str, rows: list[dict[str, Any]]) -> float:
    """Raw SQLAlchemy Core executemany into a table of the same shape, same file, same batch size."""
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    metadata = MetaData()
    table = Table(
        "Contact_baseline",
        metadata,
        Column("Id", String(18), primary_key=True),
        Column("FirstName", String),
        Column("LastName", String),
        Column("Email", String),
        Column("Title", String),
        Column("Phone", String),
        Column("HasOptedOutOfEmail", Boolean),
        Column("Years_In_Role__c", Float),
        Column("Clinical_Role__c", String),
        Column("Ignite_Key__c", String, unique=True),
        Column("IsDeleted", Integer),
        Column("CreatedDate", String),
        Column("LastModifiedDate", String),
        Column("SystemModstamp", String),
    )
    metadata.create_all(engine)
    now = "2025-05-14T09:30:00.000+0000"
    stamped = [
        {
            **row,
            "Id": f"003BASE{i:011d}",
            "IsDeleted": 0,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
        }
        for i, row in enumerate(rows)
    ]
    start = time.perf_counter()
    for at in range(0, len(stamped), BATCH):
        with engine.begin() as conn:
            conn.execute(insert(table), stamped[at : at + BATCH])
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def upsert_pass(crm: LocalCrm, rows: list[dict[str, Any]], *, expect_created: bool) -> float:
    start = time.perf_counter()
    for at in range(0, len(rows), BATCH):
        results = crm.upsert("Contact", "Ignite_Key__c", rows[at : at + BATCH])
        if any(not r.success or r.created is not expect_created for r in results):
            bad = next(r for r in results if not r.success or r.created is not expect_created)
            raise SystemExit(f"unexpected result in batch at row {at}: {bad}")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 rows; proves the script runs, not the target")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.rows or (2_000 if args.quick else 100_000)
    rows = make_rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        raw_s = baseline(url, rows)
        crm = LocalCrm.create_database(url, DESCRIBES)
        first_s = upsert_pass(crm, rows, expect_created=True)
        second_s = upsert_pass(crm, rows, expect_created=False)
        crm.close()
    raw_rate, first_rate, second_rate = n / raw_s, n / first_s, n / second_s
    share = first_rate / raw_rate
    print(f"local CRM upsert, {n:,} Contacts in batches of {BATCH}")
    print(f"{'run':<34}{'seconds':>9}{'rows/s':>11}{'ratio':>8}")
    print(f"{'baseline: raw executemany insert':<34}{raw_s:>9.2f}{raw_rate:>11,.0f}{1.0:>8.2f}")
    print(f"{'local CRM, first pass (creates)':<34}{first_s:>9.2f}{first_rate:>11,.0f}{share:>8.2f}")
    print(
        f"{'local CRM, second pass (unchanged)':<34}{second_s:>9.2f}{second_rate:>11,.0f}{second_rate / raw_rate:>8.2f}"
    )
    meets_share = share >= 0.25
    meets_second = second_rate >= first_rate
    print(f"target: first pass >= 25% of baseline: {'met' if meets_share else 'MISSED'} ({share:.0%})")
    print(
        f"target: second pass no slower than first: {'met' if meets_second else 'MISSED'} "
        f"({second_rate / first_rate:.2f}x)"
    )
    if args.quick:
        return 0
    return 0 if meets_share and meets_second else 1


if __name__ == "__main__":
    raise SystemExit(main())
