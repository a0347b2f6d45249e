"""What each table holds of people, said on the table itself, so the personal-data inventory cannot drift.

Every table is classified (tests/unit/test_personal_data_inventory.py holds it to that): a column holding
personal data carries `info=personal(KIND, HANDLING)`, a column whose name only looks personal carries
`info=not_personal("why")`, and a table holding none at all carries `info=holds_none("why")`.
`store/inventory.py` renders the README's inventory from these annotations.

A `Handling` says, once for every column that shares it, how long the data is kept, who can read it and how it
is erased, in the settings' own names.  Whether a column is encrypted at rest is never typed here: the
inventory reads it from the column's type (store/encryption.py), so the claim cannot outlive the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# The `info` key every annotation lives under.
INFO_KEY = "personal_data"

Kind = Literal["identity", "contact", "answers", "free text", "pseudonym"]

KINDS: dict[Kind, str] = {
    "identity": "who a person is: name, job title, role",
    "contact": "how to reach a person: email address, phone number",
    "answers": "a person's survey answers (burnout and wellbeing measures)",
    "free text": "what a person or staff wrote, or an error text that may quote it: anything at all",
    "pseudonym": "a hash of a person's normalised email: ties rows to one person without naming them "
    "(unkeyed, so whoever guesses an address can confirm it)",
}

DB_READERS = "whoever can read the service database or its backups (its operators)"
DB_READERS_ENCRYPTED = "whoever holds `IGNITE_ENCRYPTION_KEYS` as well as the database (its operators)"
FORGET = "`ignite-sync forget`"


@dataclass(frozen=True, slots=True)
class Handling:
    """How long a kind of row keeps its personal data, who reads it, and how it is erased."""

    name: str
    kept: str
    readers: str
    erased: str


PROGRAM_RECORD = Handling(
    name="program record",
    kept="until the program data drops it; no automatic expiry (a participant's history is the program's record)",
    readers=f"{DB_READERS}; the admin through `ignite-sync failures --show-personal`",
    erased=FORGET,
)
INBOX_BODY = Handling(
    name="intake body",
    kept="pending: until delivered to the CRM; delivered or discarded: `IGNITE_INTAKE_RETENTION_DAYS` days "
    "after receipt; quarantined and unreviewed: `IGNITE_INTAKE_QUARANTINE_RETENTION_DAYS` days after receipt",
    readers=f"{DB_READERS_ENCRYPTED}; staff reviewing quarantined submissions",
    erased=f"the worker's hourly housekeeping purges it; {FORGET}",
)
INBOX_ROW = Handling(
    name="intake row",
    kept="as long as the inbox row, which is kept for good as the idempotency guard (housekeeping purges "
    "the body, not this)",
    readers=DB_READERS_ENCRYPTED,
    erased=FORGET,
)
INBOX_HASH = Handling(
    name="intake email hash",
    kept="as long as the inbox row (kept for good: the per-person delivery lane and matching)",
    readers=DB_READERS,
    erased=FORGET,
)
JOB_ERROR = Handling(
    name="job error",
    kept="cleared when the job succeeds; succeeded jobs are deleted 7 days later; a dead job keeps it until "
    "it is replayed and succeeds",
    readers=f"{DB_READERS_ENCRYPTED}; the admin through `ignite-sync status`",
    erased=f"housekeeping (with the job); {FORGET}",
)
RUN_ERROR = Handling(
    name="run error",
    kept="runs are deleted 90 days after they start",
    readers=f"{DB_READERS_ENCRYPTED}; the admin through `ignite-sync status`",
    erased="housekeeping (with the run)",
)
LEDGER = Handling(
    name="ledger row",
    kept="for good: the ledger remembers every record sent; a message is replaced on the next attempt and "
    "cleared once the CRM accepts the row",
    readers=f"{DB_READERS}, and the messages only with `IGNITE_ENCRYPTION_KEYS` too; the admin through "
    "`ignite-sync status` and `failures`",
    erased=FORGET,
)
ISSUE = Handling(
    name="issue row",
    kept="for good, like the issue records in the CRM (never deleted, so reports show what was fixed)",
    readers=DB_READERS,
    erased=FORGET,
)

ERASURE_RECORD = Handling(
    name="erasure record",
    kept="for good: it is how a later import or intake delivery of an erased person is noticed and refused",
    readers=f"{DB_READERS}; the hashes are keyed with `IGNITE_ERASURE_KEY`, so a dump alone cannot confirm who "
    "was erased",
    erased="never: it holds no value of the person, only keyed hashes, counts and CRM Ids",
)
HANDLINGS = (
    PROGRAM_RECORD,
    INBOX_BODY,
    INBOX_ROW,
    INBOX_HASH,
    JOB_ERROR,
    RUN_ERROR,
    LEDGER,
    ISSUE,
    ERASURE_RECORD,
)


@dataclass(frozen=True, slots=True)
class Personal:
    kind: Kind
    handling: Handling
    note: str = ""


@dataclass(frozen=True, slots=True)
class NotPersonal:
    why: str


@dataclass(frozen=True, slots=True)
class HoldsNone:
    why: str


def personal(kind: Kind, handling: Handling, note: str = "") -> dict[str, Any]:
    """`Column(..., info=personal("contact", PROGRAM_RECORD))`: this column holds personal data."""
    return {INFO_KEY: Personal(kind, handling, note)}


def not_personal(why: str) -> dict[str, Any]:
    """`Column(..., info=not_personal("the CRM's error code"))`: a name that looks personal, and is not."""
    return {INFO_KEY: NotPersonal(why)}


def holds_none(why: str) -> dict[str, Any]:
    """`Table(..., info=holds_none("organisations, not people"))`: no column of this table is personal."""
    return {INFO_KEY: HoldsNone(why)}


def annotation(item: Any) -> Personal | NotPersonal | HoldsNone | None:
    """The annotation on a Column or Table (None: not annotated)."""
    found = item.info.get(INFO_KEY)
    return found if isinstance(found, Personal | NotPersonal | HoldsNone) else None
