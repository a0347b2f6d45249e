"""What the ledger learns from a chunk: the rows decided without the CRM, and each sent row's outcome.

Pure: decisions and CRM answers in, ledger entries out.  The engine writes them all in one transaction per
chunk.  A row that hit a transient error has no outcome (None): it is sent again, and the ledger keeps what
it had.
"""

from __future__ import annotations

from collections import Counter

from connector.base import Disposition, RowResult
from connector.errors import classify
from store.jobs import utcnow
from store.ledger import LedgerEntry
from sync.plan import Action, ChunkPlan, Decision
from sync.relink import keep_mark
from sync.steps import StepDef


def ledger_entry(
    step: StepDef,
    d: Decision,
    status: str,
    *,
    crm_id: str | None,
    error_code: str | None = None,
    error_message: str | None = None,
    blocked_by: str | None = None,
    keep_error: bool = True,
) -> LedgerEntry:
    """The row's new ledger entry; what this status does not decide is carried over from its previous one."""
    previous = d.entry
    return LedgerEntry(
        record_key=d.candidate.key,
        step=step.name,
        object_name=step.object_name,
        status=status,
        crm_id=crm_id,
        source_key=d.candidate.source_key or d.candidate.key,
        source_hash=d.candidate.source_hash if status == "synced" else None,
        step_hash=step.fingerprint if status == "synced" else None,
        payload_hash=previous.payload_hash if previous else None,
        rejected_hash=previous.rejected_hash if previous and keep_error else None,
        error_code=error_code,
        error_message=error_message,
        blocked_by=blocked_by,
        attempts=previous.attempts if previous else 0,
        synced_at=utcnow() if status == "synced" else (previous.synced_at if previous else None),
    )


def rejected_entry(step: StepDef, d: Decision, crm_id: str | None, code: str, message: str) -> LedgerEntry:
    """A refused row: its payload is remembered as refused, and the wait before it is tried again grows."""
    entry = ledger_entry(step, d, "rejected", crm_id=crm_id, error_code=code, error_message=message)
    entry.rejected_hash = d.payload_hash
    entry.attempts = (d.entry.attempts if d.entry else 0) + 1
    return entry


def without_sending(step: StepDef, plan: ChunkPlan) -> tuple[Counter[str], list[LedgerEntry]]:
    """Counts and ledger entries of the rows decided without the CRM: unchanged, still rejected, blocked by a
    parent, invalid.  An unchanged row's entry is rewritten only when its source or its step changed (so the
    ledger's fast unchanged path finds it next time)."""
    counts: Counter[str] = Counter()
    entries: list[LedgerEntry] = []
    for d in plan.decisions:
        if d.action is Action.UNCHANGED:
            counts["unchanged"] += 1
            assert d.entry is not None
            if d.entry.source_hash != d.candidate.source_hash or d.entry.step_hash != step.fingerprint:
                entries.append(ledger_entry(step, d, "synced", crm_id=d.crm_id, keep_error=False))
                keep_mark(d.entry, entries[-1])
        elif d.action is Action.STILL_REJECTED:
            counts["rejected"] += 1
        elif d.action is Action.BLOCKED:
            counts["blocked"] += 1
            assert d.blocked_by is not None
            entries.append(
                ledger_entry(
                    step,
                    d,
                    "blocked",
                    crm_id=d.crm_id,
                    error_code="BLOCKED_BY_PARENT",
                    error_message=f"not sent: parent {d.blocked_by.key} ({d.blocked_by.step}) is not in the CRM",
                    blocked_by=d.blocked_by.key,
                )
            )
        elif d.action is Action.INVALID:
            counts["invalid"] += 1
            entries.append(
                ledger_entry(
                    step, d, "invalid", crm_id=d.crm_id, error_code="INVALID_VALUE", error_message=d.candidate.problem
                )
            )
    return counts, entries


def outcome(step: StepDef, d: Decision, result: RowResult, *, adopted: bool) -> tuple[str, LedgerEntry] | None:
    """(count name, ledger entry) of a sent row; None when it hit a transient error and goes out again."""
    if result.success:
        name = "matched" if adopted else "created" if result.created else "updated"
        entry = ledger_entry(step, d, "synced", crm_id=result.id or d.crm_id, keep_error=False)
        entry.payload_hash = d.payload_hash
        entry.attempts = 0
        return name, entry
    if classify(error_code=result.error_code) is Disposition.RETRY:
        return None
    message = result.message or ""
    if result.fields:
        message = f"{message} (fields: {', '.join(result.fields)})"
    return "rejected", rejected_entry(step, d, d.crm_id, result.error_code or "UNKNOWN", message)
