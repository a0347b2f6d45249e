"""Bulk API 2.0 upsert: CSV up, close, poll with backoff, then per-row results mapped back by external ID.

Three things the usual scripts get wrong, done right here:
- a null must be written as `#N/A` (an empty cell means "leave the field as it is");
- result files come back in any order, so every result is matched to its source row by the external-ID
  column, never by position; rows sharing a key in one job are rejected up front because they could not be
  told apart;
- rows that the job did not process, or that hit a row lock, are re-sent through sObject Collections.

simple-salesforce's `SFBulk2Type.upsert` hides the job id until the end and polls on a fixed schedule, so we
drive its `_Bulk2Client` step by step, each step under the connector's retry policy.
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import JobState, Operation, _Bulk2Client

from connector.base import CrmRecord, FatalCrmError, RowResult, TransientCrmError

if TYPE_CHECKING:
    from connector.salesforce.connector import SalesforceConnector

NULL = "#N/A"
MAX_JOB_BYTES = 100_000_000  # Bulk 2.0 accepts 150 MB per upload; simple-salesforce splits at 100 MB too
RESULT_FILES = ("successfulResults", "failedResults", "unprocessedrecords")


def cell(value: Any) -> str:
    if value is None:
        return NULL
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """External-ID references as Bulk's reference columns: `{"Account": {"Ignite_Key__c": "org:x"}}` →
    `{"Account.Ignite_Key__c": "org:x"}`, and a polymorphic one, which names its target in `attributes.type`,
    as `ObjectType:RelationshipName.IndexedFieldName` (`{"Contact:Who.Ignite_Key__c": "person:x"}`)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            attributes = value.get("attributes")
            named = attributes.get("type") if isinstance(attributes, Mapping) else None
            column = f"{named}:{key}" if named else key
            for inner, inner_value in value.items():
                if inner != "attributes":
                    flat[f"{column}.{inner}"] = inner_value
        else:
            flat[key] = value
    return flat


def to_csv(rows: list[dict[str, Any]], key: str) -> str:
    columns = list(dict.fromkeys([key, *(c for row in rows for c in row)]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row[c]) if c in row else "" for c in columns])
    return out.getvalue()


def parse_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """`CODE:message:Field1,Field2 --` (Bulk's sf__Error) → (code, message, fields)."""
    text = text.strip().removesuffix("--").strip()
    code, _, rest = text.partition(":")
    message, fields = rest, tuple[str, ...]()
    head, sep, tail = rest.rpartition(":")
    if sep and all(part.strip().replace("_", "").replace(".", "").isalnum() for part in tail.split(",") if part):
        message = head
        fields = tuple(part.strip() for part in tail.split(",") if part.strip())
    return code.strip() or "UNKNOWN_EXCEPTION", message.strip(), fields


def _client(sf: Salesforce, object_name: str) -> _Bulk2Client:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + sf.session_id}
    return _Bulk2Client(object_name, sf.bulk2_url, headers, sf.session)


def _submit(sf: Salesforce, object_name: str, key: str, data: str) -> str:
    client = _client(sf, object_name)
    job = client.create_job(Operation.upsert, external_id_field=key)
    job_id = str(job["id"])
    try:
        client.upload_job_data(job_id, data)
        client.close_job(job_id)
    except Exception:
        # Leave no Open job behind; the retry creates a fresh one (upsert makes that safe).  Best effort:
        # the original error is the one that matters.
        with contextlib.suppress(Exception):
            client.abort_job(job_id, False)
        raise
    return job_id


def _wait(conn: SalesforceConnector, object_name: str, job_id: str) -> dict[str, Any]:
    policy = conn.policy
    deadline = time.monotonic() + policy.bulk_timeout
    interval = policy.bulk_poll_initial
    while True:
        info: dict[str, Any] = conn.call(
            lambda sf: _client(sf, object_name).get_job(job_id, False), what=f"bulk job {job_id}: poll"
        )
        state = info.get("state")
        if state == JobState.job_complete:
            return info
        if state in (JobState.failed, JobState.aborted):
            message = f"bulk upsert {object_name}: job {job_id} ended {state}: {info.get('errorMessage') or '-'}"
            if str(info.get("errorMessage") or "").startswith(("InvalidBatch", "InvalidJob", "ClientInputError")):
                raise FatalCrmError(message, code="BULK_JOB_FAILED")
            raise TransientCrmError(message, code="BULK_JOB_FAILED", retry_after=60.0)
        if time.monotonic() >= deadline:
            raise TransientCrmError(
                f"bulk upsert {object_name}: job {job_id} still {state} after {policy.bulk_timeout:.0f}s; "
                "it may yet finish, and re-sending is safe (upsert)",
                code="BULK_JOB_TIMEOUT",
                retry_after=policy.bulk_timeout,
            )
        conn.sleep(interval)
        interval = min(policy.bulk_poll_max, interval * 1.5)


def _results(conn: SalesforceConnector, object_name: str, key: str, job_id: str) -> dict[str, RowResult]:
    by_key: dict[str, RowResult] = {}
    for kind in RESULT_FILES:

        def fetch(sf: Salesforce, kind: str = kind) -> str:
            return str(_client(sf, object_name).get_ingest_results(job_id, kind))

        text = conn.call(fetch, what=f"bulk job {job_id}: {kind}")
        for row in csv.DictReader(io.StringIO(text)):
            value = row.get(key)
            if value is None:
                raise FatalCrmError(f"bulk job {job_id}: {kind} has no {key} column to match rows by")
            if kind == "successfulResults":
                created = str(row.get("sf__Created", "")).lower() == "true"
                by_key[value] = RowResult(success=True, id=row.get("sf__Id") or None, created=created)
            elif kind == "failedResults":
                code, message, fields = parse_error(row.get("sf__Error") or "")
                by_key[value] = RowResult(
                    success=False, id=row.get("sf__Id") or None, error_code=code, message=message, fields=fields
                )
            else:
                by_key[value] = RowResult(success=False, error_code="UNPROCESSED", message="not processed by the job")
    return by_key


def _jobs(rows: list[dict[str, Any]], indexes: list[int], key: str) -> list[tuple[list[int], str]]:
    """Split into jobs under the upload size limit; nearly always one."""
    jobs: list[tuple[list[int], str]] = []
    start = 0
    step = len(indexes) or 1
    while start < len(indexes):
        part = indexes[start : start + step]
        data = to_csv([rows[i] for i in part], key)
        if len(data.encode()) > MAX_JOB_BYTES and len(part) > 1:
            step = max(1, step // 2)
            continue
        jobs.append((part, data))
        start += len(part)
    return jobs


def bulk_upsert(conn: SalesforceConnector, object_name: str, key: str, records: list[CrmRecord]) -> list[RowResult]:
    rows = [flatten(r) for r in records]
    results: list[RowResult | None] = [None] * len(rows)
    keys: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        value = row.get(key)
        if value is None or value == "":
            results[i] = RowResult(
                False,
                error_code="MISSING_ARGUMENT",
                message=f"{object_name} row {i}: the external ID {key} is empty, so the row cannot be upserted",
                fields=(key,),
            )
        else:
            keys.setdefault(cell(value), []).append(i)
    sendable: list[int] = []
    for value, indexes in keys.items():
        if len(indexes) > 1:
            for i in indexes:
                results[i] = RowResult(
                    False,
                    error_code="DUPLICATE_EXTERNAL_ID",
                    message=f"{object_name}: {key} {value!r} appears in {len(indexes)} rows of one upsert",
                    fields=(key,),
                )
        else:
            sendable.extend(indexes)
    sendable.sort()

    for part, data in _jobs(rows, sendable, key):

        def submit(sf: Salesforce, data: str = data) -> str:
            return _submit(sf, object_name, key, data)

        job_id = conn.call(submit, what=f"bulk upsert {object_name}: submit")
        _wait(conn, object_name, job_id)
        by_key = _results(conn, object_name, key, job_id)
        for i in part:
            results[i] = by_key.get(
                cell(rows[i][key]), RowResult(False, error_code="UNPROCESSED", message="missing from job results")
            )
    final = [r if r is not None else RowResult(False, error_code="UNPROCESSED") for r in results]
    return conn.retry_rows(object_name, key, records, final)
