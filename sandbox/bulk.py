"""Bulk API 2.0 ingest jobs for the sandbox: Open → UploadComplete → InProgress → JobComplete | Failed | Aborted.

CSV in (`#N/A` clears a field, an empty cell leaves it alone, `Parent.ExtId__c` columns set lookups by external
ID), values converted by the object's describe types, rows written through the CRM in chunks on a worker
thread, and result files served as CSV.  Result rows are shuffled (with the fault plan's seed) because
Salesforce does not promise input order either: a client that maps results by position fails here.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connector.base import CrmError, RowResult
from sandbox.faults import Fault
from sandbox.state import DATA, SandboxState

NULL = "#N/A"
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
TERMINAL = ("JobComplete", "Failed", "Aborted")


@dataclass
class IngestJob:
    id: str
    object: str
    operation: str
    external_id_field: str | None
    delimiter: str
    line_ending: str
    created: str
    state: str = "Open"
    uploads: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    successful: list[tuple[str, bool, dict[str, str]]] = field(default_factory=list)
    failed: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    unprocessed: list[dict[str, str]] = field(default_factory=list)
    error_message: str | None = None
    fail: bool = False
    lock_fault: Fault | None = None

    def info(self, version: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": "005000000000001AAA",
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "externalIdFieldName": self.external_id_field,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version.removeprefix("v") or 0),
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": next(k for k, v in DELIMITERS.items() if v == self.delimiter),
            "contentUrl": f"services/data/{version}/jobs/ingest/{self.id}/batches",
            "numberRecordsProcessed": len(self.successful) + len(self.failed),
            "numberRecordsFailed": len(self.failed),
            "errorMessage": self.error_message,
        }


def _convert(value: str, field_type: str) -> Any:
    if field_type == "boolean":
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(f"'{value}' is not a valid value for the type xsd:boolean")
    if field_type == "int":
        return int(value)
    if field_type in ("double", "currency", "percent"):
        return float(value)
    return value


class BulkJobs:
    """The sandbox's ingest jobs, processed on worker threads against the state's CRM and fault plan."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.jobs: dict[str, IngestJob] = {}
        self.batches = 0
        self._seq = 0
        self._lock = threading.Lock()

    def summary(self) -> list[dict[str, Any]]:
        return [{"id": j.id, "object": j.object, "state": j.state} for j in self.jobs.values()]

    def _new_id(self) -> str:
        with self._lock:
            self._seq += 1
            return f"750{self._seq:015d}"

    # -- processing ----------------------------------------------------------------------------------------

    def _rows(self, job: IngestJob) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for text in job.uploads:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=job.delimiter)
            header = next(reader, None)
            if header is None:
                continue
            if not job.columns:
                job.columns = header
            elif header != job.columns:
                raise ValueError("InvalidBatch : every upload of a job must have the same columns")
            for values in reader:
                if not values:
                    continue
                if len(values) != len(header):
                    raise ValueError(f"InvalidBatch : a row has {len(values)} values for {len(header)} columns")
                rows.append(dict(zip(header, values, strict=True)))
        return rows

    def _record(self, raw: dict[str, str], types: dict[str, str]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for column, text in raw.items():
            if text == "":
                continue  # an empty cell leaves the field as it is
            value: Any = None if text == NULL else text
            if "." in column:
                relation, _, inner = column.partition(".")
                named, colon, relationship = relation.partition(":")  # ObjectType:Relationship (polymorphic)
                if colon:
                    reference = record.setdefault(relationship, {"attributes": {"type": named}})
                else:
                    reference = record.setdefault(relation, {})
                reference[inner] = value
                continue
            if value is not None:
                value = _convert(value, types.get(column, "string"))
            record[column] = value
        return record

    def process(self, job: IngestJob) -> None:
        try:
            job.state = "InProgress"
            rows = self._rows(job)
            if job.fail:
                job.unprocessed = rows
                job.error_message = "InternalServerError : the sandbox was told to fail this job"
                job.state = "Failed"
                return
            types = self.state.type_of(job.object)
            if job.external_id_field and job.external_id_field not in job.columns and job.operation == "upsert":
                raise ValueError(f"InvalidBatch : Field name not provided: {job.external_id_field}")
            locked = self.state.faults.locked_rows(job.lock_fault, len(rows)) if job.lock_fault else set()
            chunk = self.state.config.bulk_chunk
            pending: list[tuple[dict[str, str], dict[str, Any]]] = []
            for index, raw in enumerate(rows):
                if index in locked:
                    job.failed.append(
                        ("", "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--", raw)
                    )
                    continue
                try:
                    pending.append((raw, self._record(raw, types)))
                except ValueError as exc:
                    job.failed.append(("", f"INVALID_FIELD_FOR_INSERT_UPDATE:{exc}: --", raw))
                if len(pending) >= chunk:
                    self._write(job, pending)
                    pending = []
            if pending:
                self._write(job, pending)
            self.state.faults.shuffle(job.successful)
            self.state.faults.shuffle(job.failed)
            job.state = "JobComplete"
        except (ValueError, CrmError) as exc:
            job.error_message = str(exc)
            job.state = "Failed"

    def _write(self, job: IngestJob, pending: list[tuple[dict[str, str], dict[str, Any]]]) -> None:
        records = [record for _, record in pending]
        with self.state.locked() as crm:
            results: list[RowResult]
            if job.operation == "upsert":
                results = crm.upsert(job.object, job.external_id_field or "Id", records)
            elif job.operation == "insert":
                results = crm.create(job.object, records)
            elif job.operation == "update":
                results = crm.update(job.object, records)
            else:
                results = crm.delete(job.object, [str(r.get("Id", "")) for r in records])
        for (raw, _), result in zip(pending, results, strict=True):
            if result.success:
                created = result.created if job.operation == "upsert" else job.operation == "insert"
                job.successful.append((result.id or "", created, raw))
            else:
                fields = ",".join(result.fields)
                error = f"{result.error_code}:{result.message or ''}:{fields} --"
                job.failed.append((result.id or "", error, raw))

    # -- HTTP ----------------------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        """The `jobs/ingest` routes, over these jobs."""
        router = APIRouter()
        base = DATA + "/jobs/ingest"

        def missing(job_id: str) -> JSONResponse:
            return JSONResponse(
                [{"errorCode": "NOT_FOUND", "message": f"Could not find job {job_id}"}], status_code=404
            )

        @router.post(base)
        @router.post(base + "/")
        async def create_job(version: str, request: Request) -> JSONResponse:
            body = dict(await request.json())
            operation = body.get("operation")
            object_name = body.get("object")
            if operation not in OPERATIONS:
                return _invalid(f"InvalidJob : operation must be one of {', '.join(OPERATIONS)}")
            if not object_name:
                return _invalid("InvalidJob : object is required")
            if operation == "upsert" and not body.get("externalIdFieldName"):
                return _invalid("InvalidJob : externalIdFieldName is required for upsert")
            if body.get("contentType", "CSV") != "CSV":
                return _invalid("InvalidJob : only CSV is supported")
            delimiter = DELIMITERS.get(str(body.get("columnDelimiter", "COMMA")))
            if delimiter is None:
                return _invalid("InvalidJob : unknown columnDelimiter")
            self.state.type_of(str(object_name))  # an unknown object fails here, as Salesforce does at create
            job = IngestJob(
                id=self._new_id(),
                object=str(object_name),
                operation=str(operation),
                external_id_field=body.get("externalIdFieldName"),
                delimiter=delimiter,
                line_ending=str(body.get("lineEnding", "LF")),
                created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            )
            self.jobs[job.id] = job
            return JSONResponse(job.info(version))

        @router.put(base + "/{job_id}/batches")
        @router.put(base + "/{job_id}/batches/")
        async def upload(version: str, job_id: str, request: Request) -> Response:
            job = self.jobs.get(job_id)
            if job is None:
                return missing(job_id)
            if job.state != "Open":
                return _invalid(f"InvalidJobState : job {job_id} is {job.state}; data can be uploaded only while Open")
            job.uploads.append((await request.body()).decode("utf-8-sig"))
            self.batches += 1
            return Response(status_code=201)

        @router.patch(base + "/{job_id}")
        @router.patch(base + "/{job_id}/")
        async def set_state(version: str, job_id: str, request: Request) -> JSONResponse:
            job = self.jobs.get(job_id)
            if job is None:
                return missing(job_id)
            target = dict(await request.json()).get("state")
            if target == "Aborted":
                if job.state in TERMINAL:
                    return _invalid(f"InvalidJobState : job {job_id} is already {job.state}")
                job.state = "Aborted"
                return JSONResponse(job.info(version))
            if target != "UploadComplete":
                return _invalid("InvalidJobState : state must be UploadComplete or Aborted")
            if job.state != "Open":
                return _invalid(f"InvalidJobState : job {job_id} is {job.state}, not Open")
            fault = getattr(request.state, "fault", None)
            if fault is not None and fault.kind == "bulk_failed":
                job.fail = True
            if fault is not None and fault.kind == "lock_rows":
                job.lock_fault = fault
            job.state = "UploadComplete"
            threading.Thread(target=self.process, args=(job,), name=f"bulk-{job_id}", daemon=True).start()
            return JSONResponse(job.info(version))

        @router.get(base + "/{job_id}")
        @router.get(base + "/{job_id}/")
        def get_job(version: str, job_id: str) -> JSONResponse:
            job = self.jobs.get(job_id)
            return missing(job_id) if job is None else JSONResponse(job.info(version))

        @router.delete(base + "/{job_id}")
        def delete_job(version: str, job_id: str) -> Response:
            job = self.jobs.get(job_id)
            if job is None:
                return missing(job_id)
            if job.state not in (*TERMINAL, "UploadComplete", "Open"):
                return _invalid(f"InvalidJobState : job {job_id} is {job.state}")
            del self.jobs[job_id]
            return Response(status_code=204)

        @router.get(base + "/{job_id}/{kind}")
        @router.get(base + "/{job_id}/{kind}/")
        def results(version: str, job_id: str, kind: str) -> Response:
            job = self.jobs.get(job_id)
            if job is None:
                return missing(job_id)
            if job.state not in TERMINAL:
                return _invalid(f"InvalidJobState : job {job_id} is {job.state}; results come after it ends")
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            if kind == "successfulResults":
                writer.writerow(["sf__Id", "sf__Created", *job.columns])
                for sf_id, created, raw in job.successful:
                    writer.writerow([sf_id, "true" if created else "false", *(raw[c] for c in job.columns)])
            elif kind == "failedResults":
                writer.writerow(["sf__Id", "sf__Error", *job.columns])
                for sf_id, error, raw in job.failed:
                    writer.writerow([sf_id, error, *(raw[c] for c in job.columns)])
            elif kind == "unprocessedrecords":
                writer.writerow(job.columns)
                for raw in job.unprocessed:
                    writer.writerow([raw[c] for c in job.columns])
            else:
                return missing(f"{job_id}/{kind}")
            return Response(out.getvalue(), media_type="text/csv")

        return router


def _invalid(message: str) -> JSONResponse:
    return JSONResponse([{"errorCode": "INVALIDJOB", "message": message}], status_code=400)
