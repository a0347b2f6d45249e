"""Finding and removing one person's rows in the service database (issue 18); `store.erasure` holds the hash,
the refusal and the erasure record.

What names a person here: their participant row, enrolments, attendance and survey answers (keyed by their
participant key), intake submissions stored as program data (by email), intake inbox rows (by the email's
hash, or, for quarantined rows that never validated, by the address read from the stored candidate or body),
the sync ledger's and sync issues' rows of those records, intake jobs of those inbox rows, and any free text
that may quote them (job errors and payloads, run errors, other ledger rows' CRM messages).  Inbox rows become
tombstones (every column the sender wrote emptied, `discarded`), so the sender's retry of the same delivery is
still recognised as a duplicate and stores nothing.

Never commits: `sync.erasure.forget` runs `plan` and `apply` in one transaction with the CRM job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, or_, select, update

from models.keys import email_match_form, participant_key
from store import tables
from store.erasure import Subject, key_id
from store.erasure_tables import CRM_PENDING, DONE, erasures
from store.exports_tables import export_downloads
from store.intake_tables import DISCARDED, intake_inbox
from store.jobs_tables import jobs, sync_issues, sync_ledger, sync_runs

ERASED_TEXT = "[erased]"
TOMBSTONE_SHA = "erased"
_CHUNK = 500
_EMAILISH = re.compile(rb"[^\s\"'<>,;:()\[\]{}]+@[^\s\"'<>,;:()\[\]{}]+")


# ---------------------------------------------------------------------------------------------- the plan


@dataclass
class ErasurePlan:
    """Everything the service database holds of one person, found without writing: the dry run shows it,
    `apply` removes it.  `values` (their email and names) live only in memory, to scrub free text."""

    subject: Subject
    record_keys: dict[str, list[str]] = field(default_factory=dict)
    cohorts: list[str] = field(default_factory=list)
    inbox_ids: list[int] = field(default_factory=list)
    intake_keys: list[str] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)  # CRM Contact/Lead the intake delivered to
    ledger_rows: list[tuple[str, str]] = field(default_factory=list)
    crm_records: list[dict[str, str]] = field(default_factory=list)  # {object, id, step} the sync created
    issue_keys: list[str] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    exports_delivered_before: list[dict[str, Any]] = field(default_factory=list)
    values: list[str] = field(default_factory=list, repr=False)
    existing: Any = None  # the erasure row of an earlier request, if any

    def counts(self) -> dict[str, int]:
        out = {table: len(keys) for table, keys in self.record_keys.items() if keys}
        for name, n in (
            ("intake_inbox", len(self.inbox_ids)),
            ("sync_ledger", len(self.ledger_rows)),
            ("sync_issues", len(self.issue_keys)),
            ("jobs", len(self.job_ids)),
        ):
            if n:
                out[name] = n
        return out

    @property
    def empty(self) -> bool:
        return not self.counts()

    @property
    def crm_work(self) -> bool:
        return bool(self.crm_records or self.people or self.intake_keys or self.issue_keys)


def _keys_where(connection: Connection, table: Any, column: str, values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        out += connection.execute(select(table.c.key).where(table.c[column].in_(chunk))).scalars()
    return sorted(out)


def _inbox_matches(connection: Connection, subject: Subject) -> list[Any]:
    """Inbox rows of the person: by the email's hash, or (never validated, so no hash) by the address in the
    stored candidate fields or raw body, decrypted by the column types like any read."""
    digest = subject.key.split(":", 1)[1]
    rows = list(connection.execute(select(intake_inbox).where(intake_inbox.c.email_hash == digest)))
    unhashed = connection.execute(
        select(intake_inbox).where(
            intake_inbox.c.email_hash.is_(None),
            or_(intake_inbox.c.raw_body.is_not(None), intake_inbox.c.candidate.is_not(None)),
        )
    )
    for row in unhashed:
        addresses: set[bytes] = set()
        candidate = row.candidate if isinstance(row.candidate, dict) else {}
        if isinstance(candidate.get("email"), str):
            addresses.add(candidate["email"].encode("utf-8"))
        if row.raw_body:
            addresses.update(_EMAILISH.findall(bytes(row.raw_body)))
        for address in addresses:
            try:
                if participant_key(address.decode("utf-8", "replace")) == subject.key:
                    rows.append(row)
                    break
            except ValueError:
                continue
    return rows


def _submission_values(submission: Any) -> list[str]:
    if not isinstance(submission, dict):
        return []
    first, last = submission.get("first_name"), submission.get("last_name")
    out = [v for v in (submission.get("email"), submission.get("phone")) if isinstance(v, str) and v]
    if isinstance(last, str) and last:
        out.append(f"{first} {last}" if isinstance(first, str) and first else last)
    return out


def plan(connection: Connection, subject: Subject) -> ErasurePlan:
    """Find everything of `subject`; writes nothing."""
    p = ErasurePlan(subject)
    person = connection.execute(select(tables.participants).where(tables.participants.c.key == subject.key)).first()
    if person is not None:
        p.subject = subject = Subject(subject.key, subject.email or person.email)
        p.values += [person.email, f"{person.first_name} {person.last_name}"]
        if person.phone:
            p.values.append(person.phone)
    keys = [subject.key]
    p.record_keys["participants"] = [subject.key] if person is not None else []
    enrolled = connection.execute(
        select(tables.enrollments.c.key, tables.enrollments.c.cohort).where(
            tables.enrollments.c.participant == subject.key
        )
    ).all()
    p.record_keys["enrollments"] = sorted(r.key for r in enrolled)
    p.cohorts = sorted({r.cohort for r in enrolled})
    p.record_keys["attendance"] = _keys_where(connection, tables.attendance, "participant", keys)
    p.record_keys["survey_responses"] = _keys_where(connection, tables.survey_responses, "participant", keys)
    p.cohorts = sorted(
        set(p.cohorts)
        | set(
            connection.execute(
                select(tables.survey_responses.c.cohort).where(tables.survey_responses.c.participant == subject.key)
            ).scalars()
        )
    )
    submissions = tables.intake_submissions
    if subject.email is not None:
        stored = connection.execute(select(submissions).where(submissions.c.email == subject.email)).all()
    else:  # only the key was given and no participant row holds the email: look at every address
        stored = [
            r
            for r in connection.execute(select(submissions))
            if participant_key(r.email) == subject.key  # stored emails are normalised
        ]
    p.record_keys["intake_submissions"] = sorted(r.key for r in stored)
    for r in stored:
        p.values += _submission_values(r._mapping)
    for row in _inbox_matches(connection, subject):
        if row.body_sha256 == TOMBSTONE_SHA:
            continue
        p.inbox_ids.append(int(row.id))
        p.values += _submission_values(row.submission) + _submission_values(row.candidate)
        digest = hashlib.sha256(f"{row.source}\x00{row.delivery_id}".encode()).hexdigest()[:24]
        p.intake_keys.append(f"intake:{digest}")
        if row.crm_object and row.crm_id:
            p.people.append({"object": row.crm_object, "id": row.crm_id})
    p.intake_keys = sorted(set(p.intake_keys) | set(p.record_keys["intake_submissions"]))
    record_keys = sorted({k for ks in p.record_keys.values() for k in ks} | {subject.key} | set(p.intake_keys))
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(record_keys), _CHUNK):
        chunk = record_keys[start : start + _CHUNK]
        ledger = connection.execute(
            select(sync_ledger).where(or_(sync_ledger.c.record_key.in_(chunk), sync_ledger.c.source_key.in_(chunk)))
        )
        for row in ledger:
            p.ledger_rows.append((row.record_key, row.step))
            if row.crm_id and (row.object_name, row.crm_id) not in seen:
                seen.add((row.object_name, row.crm_id))
                p.crm_records.append({"object": row.object_name, "id": row.crm_id, "step": row.step})
    ledger_keys = sorted({k for k, _ in p.ledger_rows})
    for start in range(0, len(ledger_keys), _CHUNK):
        p.issue_keys += connection.execute(
            select(sync_issues.c.issue_key).where(sync_issues.c.record_key.in_(ledger_keys[start : start + _CHUNK]))
        ).scalars()
    p.values = sorted({email_match_form(v) if "@" in v else v for v in p.values if v and len(v) >= 4})
    p.job_ids = _jobs_naming(connection, p)
    p.exports_delivered_before = _delivered_exports(connection, p.cohorts)
    p.existing = connection.execute(select(erasures).where(erasures.c.key_hash == subject.key_hash)).first()
    return p


def _jobs_naming(connection: Connection, p: ErasurePlan) -> list[int]:
    """Jobs that concern the person: intake deliveries of their inbox rows, and any job whose payload quotes
    one of their values.  A running job is left to finish (it finds a tombstone and settles)."""
    inbox = set(p.inbox_ids)
    found: set[int] = set()
    rows = connection.execute(
        select(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.state).where(jobs.c.state != "running")
    )
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        ours = row.kind == "intake" and payload.get("inbox_id") in inbox
        if ours or any(v.lower() in str(payload).lower() for v in p.values):
            found.add(int(row.id))
    return sorted(found)


def _delivered_exports(connection: Connection, cohorts: Sequence[str]) -> list[dict[str, Any]]:
    """Funder exports downloaded before now that covered one of the person's cohorts (not recalled)."""
    if not cohorts:
        return []
    wanted = set(cohorts)
    funders = {
        row.funder
        for row in connection.execute(select(tables.grants.c.funder, tables.grants.c.cohorts))
        if wanted & set(row.cohorts or [])
    }
    if not funders:
        return []
    rows = connection.execute(
        select(export_downloads.c.funder, export_downloads.c.at, export_downloads.c.sha256)
        .where(export_downloads.c.funder.in_(sorted(funders)), export_downloads.c.outcome == "ok")
        .order_by(export_downloads.c.at)
    )
    return [{"funder": r.funder, "delivered_at": r.at.isoformat(), "sha256": r.sha256} for r in rows]


# --------------------------------------------------------------------------------------------- applying


def _delete_keys(connection: Connection, table: Any, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), _CHUNK):
        connection.execute(delete(table).where(table.c.key.in_(list(keys[start : start + _CHUNK]))))


def _scrub_text(connection: Connection, values: Sequence[str]) -> int:
    """Free text that may quote the person (CRM messages on other ledger rows, job and run errors): replaced
    by `[erased]`.  Matching is case-insensitive on the whole value (email, full name, phone)."""
    n = 0
    for table, column in (
        (jobs, jobs.c.last_error),
        (sync_runs, sync_runs.c.error),
        (sync_ledger, sync_ledger.c.error_message),
    ):
        for value in values:
            result = connection.execute(
                update(table).where(column.icontains(value, autoescape=True)).values({column.name: ERASED_TEXT})
            )
            n += int(result.rowcount or 0)
    return n


def apply(connection: Connection, p: ErasurePlan, *, requested_by: str, policy: str, at: datetime) -> int:
    """Remove what `plan` found and write (or update) the erasure record, in the caller's transaction; its id.

    Counts add up across repeated requests: a rerun that finds nothing changes nothing."""
    if connection.dialect.name == "sqlite":
        # Deleted cells are overwritten, not left in free pages for a raw read of the file to find (the
        # default of most builds, made explicit).
        connection.exec_driver_sql("PRAGMA secure_delete = ON")
    for table_name, keys in p.record_keys.items():
        _delete_keys(connection, getattr(tables, table_name), keys)
    if p.cohorts and not p.empty:
        # The sync recomputes derived records (cohort outcomes, summaries) when an input table changed since its
        # last run; a deletion changes no row's time, so the person's cohorts are marked changed instead.
        connection.execute(update(tables.cohorts).where(tables.cohorts.c.key.in_(p.cohorts)).values(updated_at=at))
    for start in range(0, len(p.inbox_ids), _CHUNK):
        connection.execute(
            update(intake_inbox)
            .where(intake_inbox.c.id.in_(p.inbox_ids[start : start + _CHUNK]))
            .values(
                raw_body=None,
                body_sha256=TOMBSTONE_SHA,
                body_purged_at=at,
                submission=None,
                candidate=None,
                email_hash=None,
                quarantined=False,
                quarantine_problems=None,
                ignored_fields=None,
                review_note=None,
                reviewed_at=at,
                status=DISCARDED,
                outcome="erased",
                crm_object=None,
                crm_id=None,
                last_error=None,
                processed_at=at,
            )
        )
    for record_key, step in p.ledger_rows:
        connection.execute(
            delete(sync_ledger).where(sync_ledger.c.record_key == record_key, sync_ledger.c.step == step)
        )
        connection.execute(
            delete(sync_issues).where(sync_issues.c.record_key == record_key, sync_issues.c.step == step)
        )
    if p.job_ids:
        connection.execute(delete(jobs).where(jobs.c.id.in_(p.job_ids), jobs.c.state != "running"))
    scrubbed = _scrub_text(connection, p.values)
    counts = p.counts()
    if scrubbed:
        counts["text_scrubbed"] = scrubbed
    status = CRM_PENDING if p.crm_work and policy != "keep" else DONE
    if p.existing is None:
        return int(
            connection.execute(
                erasures.insert()
                .values(
                    key_hash=p.subject.key_hash,
                    email_hash=p.subject.email_hash,
                    key_id=key_id(),
                    requested_at=at,
                    requested_by=requested_by,
                    crm_policy=policy,
                    status=status,
                    counts=counts,
                    exports_delivered_before=p.exports_delivered_before,
                    completed_at=at if status == DONE else None,
                )
                .returning(erasures.c.id)
            ).scalar_one()
        )
    old = p.existing
    total = dict(old.counts or {})
    for name, n in counts.items():
        total[name] = total.get(name, 0) + n
    values: dict[str, Any] = {"counts": total, "email_hash": old.email_hash or p.subject.email_hash}
    if not p.empty or p.crm_work:
        values.update(crm_policy=policy, status=status if old.status == DONE else old.status)
        known = {(e["funder"], e["delivered_at"]) for e in old.exports_delivered_before or []}
        values["exports_delivered_before"] = [*(old.exports_delivered_before or [])] + [
            e for e in p.exports_delivered_before if (e["funder"], e["delivered_at"]) not in known
        ]
    connection.execute(update(erasures).where(erasures.c.id == old.id).values(**values))
    return int(old.id)


def flush_old_pages(engine: Engine) -> None:
    """SQLite keeps the pages a transaction replaced in its write-ahead log until a checkpoint overwrites them:
    checkpoint and truncate it, so the erased values are not left in the `-wal` file.  (A reader holding an
    older snapshot makes this a partial checkpoint; the log is then truncated by a later one.)  Postgres: the
    rows are gone for every query at once; VACUUM reclaims their space as usual."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
