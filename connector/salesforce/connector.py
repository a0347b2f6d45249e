"""`SalesforceConnector`: the CrmConnector port on simple-salesforce, with the retry and quota policy it lacks.

What simple-salesforce gives us is the HTTP plumbing, the login flows, SOQL quoting and exception classes.
What it does not do, and this class does:

- writes go through sObject Collections (200 rows per call, `allOrNone=false`) or, above a row threshold,
  Bulk API 2.0 (see `bulk.py`), never one call per record;
- transient failures are retried inside the call with tenacity (exponential backoff with jitter), and only
  where repeating is safe: a create is not repeated after a failure that may have been applied;
- rows that come back `UNABLE_TO_LOCK_ROW` are re-sent on their own, the rest of the batch is not repeated;
- `REQUEST_LIMIT_EXCEEDED` ends the call at once with a long `retry_after` (hammering burns more quota);
- a 401 gets exactly one re-login per call, then `FatalCrmError` (simple-salesforce's own loop is unbounded);
- writes pause above a share of the daily API allocation read from `Sforce-Limit-Info`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound
from simple_salesforce.format import format_soql
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from connector.base import (
    ApiUsage,
    CallCounter,
    CrmRecord,
    FatalCrmError,
    QueryPage,
    RowResult,
    TransientCrmError,
)
from connector.salesforce.auth import Authenticator, SessionCredentials
from connector.salesforce.errors import (
    REQUEST_LIMIT_EXCEEDED,
    MaybeAppliedError,
    SessionExpiredError,
    translate,
)
from connector.salesforce.limits import LimitTracker
from connector.salesforce.transport import make_http_session

T = TypeVar("T")

LIMIT_PAUSED = "API_LIMIT_PAUSED"
# Row-level codes worth re-sending at once, just for the rows that got them.
ROW_RETRY_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNPROCESSED"})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class SalesforcePolicy:
    """Batch sizes, thresholds and retry budgets.  Defaults follow Salesforce's guidance; tests shrink delays."""

    batch_size: int = 200  # sObject Collections maximum
    bulk_threshold: int = 2000  # Salesforce's own advice: Bulk API above ~2,000 records
    max_attempts: int = 4  # tenacity attempts per call for transient failures
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    lock_row_rounds: int = 3  # extra rounds that re-send only rows that hit UNABLE_TO_LOCK_ROW
    limit_pause_share: float = 0.9
    limit_retry_after: float = 900.0  # seconds suggested after REQUEST_LIMIT_EXCEEDED or a limit pause
    bulk_poll_initial: float = 1.0
    bulk_poll_max: float = 15.0
    bulk_timeout: float = 3600.0
    lookup_chunk: int = 200  # values per batched IN lookup
    max_query_chars: int = 12_000  # URL-encoded SOQL budget per GET, well under the 16 KB URI limit

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 200:
            raise ValueError(f"batch_size must be 1..200 (Collections limit), got {self.batch_size}")
        if self.bulk_threshold < 1:
            raise ValueError(f"IGNITE_SF_BULK_THRESHOLD must be at least 1, got {self.bulk_threshold}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


def check_name(name: str, what: str = "name") -> str:
    """Object and field names are spliced into SOQL and URLs, so they must be plain API names."""
    if not _NAME.match(name):
        raise ValueError(f"not a Salesforce API {what}: {name!r}")
    return name


def json_value(value: Any) -> Any:
    """Plain JSON for a field value: dates as ISO strings, Decimals as numbers, nested references recursed."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def strip_attributes(record: Mapping[str, Any]) -> CrmRecord:
    """Query rows without Salesforce's `attributes` envelope, parent relationship rows included."""
    out: CrmRecord = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        out[key] = strip_attributes(value) if isinstance(value, Mapping) else value
    return out


def row_result(item: Mapping[str, Any], *, created: bool | None) -> RowResult:
    """One Collections SaveResult/UpsertResult → RowResult, keeping duplicate-rule matches for adoption.

    `created` is what a success means for this operation (create: True, update/delete: False); None means
    the result says it (upsert)."""
    if item.get("success"):
        made = bool(item.get("created")) if created is None else created
        return RowResult(success=True, id=item.get("id"), created=made)
    errors = item.get("errors") or [{}]
    error = errors[0]
    matched: list[str] = []
    duplicate = error.get("duplicateResult") or {}
    for match in duplicate.get("matchResults") or []:
        for record in match.get("matchRecords") or []:
            record_id = (record.get("record") or {}).get("Id")
            if record_id:
                matched.append(str(record_id))
    return RowResult(
        success=False,
        id=item.get("id"),
        error_code=error.get("statusCode") or error.get("errorCode") or "UNKNOWN_EXCEPTION",
        message=error.get("message"),
        fields=tuple(error.get("fields") or ()),
        matched_ids=tuple(dict.fromkeys(matched)),  # one per record, though each matching rule lists it
    )


class SalesforceConnector:
    """The port over simple-salesforce.  Logs in lazily, on the first call that needs the org."""

    def __init__(
        self,
        auth: Authenticator,
        *,
        api_version: str = "62.0",
        ca_bundle: Path | None = None,
        timeout: float = 60.0,
        policy: SalesforcePolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy or SalesforcePolicy()
        self.counter = CallCounter()
        self.limit_tracker = LimitTracker(self.policy.limit_pause_share)
        self.http = make_http_session(
            timeout=timeout, counter=self.counter, tracker=self.limit_tracker, ca_bundle=ca_bundle
        )
        self.api_version = api_version.removeprefix("v")
        self.relogins = 0
        self._auth = auth
        self.sleep = sleep
        self._sf: Salesforce | None = None
        self._describes: dict[str, dict[str, Any]] = {}

    # -- session -------------------------------------------------------------------------------------------

    def _client(self) -> Salesforce:
        if self._sf is None:
            self._connect(self._auth.login(self.http))
        assert self._sf is not None
        return self._sf

    def _connect(self, creds: SessionCredentials) -> None:
        self._sf = Salesforce(
            session_id=creds.session_id, instance=creds.instance, session=self.http, version=self.api_version
        )

    def _relogin(self, reason: str) -> None:
        if not self._auth.can_refresh:
            raise FatalCrmError(
                f"{reason}; the session id was given (IGNITE_SF_AUTH=session) and cannot be renewed: set a fresh "
                "IGNITE_SF_SESSION_ID or use password/jwt auth",
                code="INVALID_SESSION_ID",
                status=401,
            )
        self.relogins += 1
        self._connect(self._auth.login(self.http))

    @property
    def api_usage(self) -> ApiUsage | None:
        return self.limit_tracker.usage

    @property
    def pause_reason(self) -> str | None:
        """Why writes are paused right now (for `status`), or None."""
        return self.limit_tracker.pause_reason

    def _check_pause(self) -> None:
        reason = self.pause_reason
        if reason is not None:
            raise TransientCrmError(reason, code=LIMIT_PAUSED, retry_after=self.policy.limit_retry_after)

    # -- the retry layer -----------------------------------------------------------------------------------

    def _should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        if not isinstance(exc, TransientCrmError) or exc.code in (REQUEST_LIMIT_EXCEEDED, LIMIT_PAUSED):
            return False
        return idempotent or not isinstance(exc, MaybeAppliedError)

    def call(self, fn: Callable[[Salesforce], T], *, what: str, idempotent: bool = True) -> T:
        """Run one API request with the policy: tenacity for transient failures, one re-login for a 401."""
        relogged = False

        def attempt() -> T:
            nonlocal relogged
            while True:
                try:
                    return fn(self._client())
                except Exception as exc:
                    error = translate(exc, what=what, limit_retry_after=self.policy.limit_retry_after)
                    if not isinstance(error, SessionExpiredError):
                        if error is exc:
                            raise
                        raise error from None
                    if relogged:
                        raise FatalCrmError(
                            f"{error}: still rejected after one re-login; check the user's access and session settings",
                            code="INVALID_SESSION_ID",
                            status=401,
                        ) from None
                    relogged = True
                    self._relogin(str(error))

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=wait_exponential(multiplier=self.policy.backoff_initial, max=self.policy.backoff_max)
            + wait_random(0, self.policy.backoff_initial),
            retry=retry_if_exception(lambda exc: self._should_retry(exc, idempotent=idempotent)),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(attempt)

    # -- reads ---------------------------------------------------------------------------------------------

    def describe(self, object_name: str) -> dict[str, Any]:
        name = check_name(object_name, "object name")
        if name not in self._describes:
            result = self.call(lambda sf: sf.restful(f"sobjects/{name}/describe"), what=f"describe {name}")
            self._describes[name] = dict(result or {})
        return self._describes[name]

    def get(self, object_name: str, record_id: str, fields: Sequence[str] | None = None) -> CrmRecord | None:
        name = check_name(object_name, "object name")
        if not re.fullmatch(r"[A-Za-z0-9]+", record_id):
            raise ValueError(f"get {name}: not a Salesforce Id: {record_id!r}")
        params = {"fields": ",".join(check_name(f, "field name") for f in fields)} if fields else None

        def fetch(sf: Salesforce) -> Any:
            try:
                return sf.restful(f"sobjects/{name}/{record_id}", params=params)
            except SalesforceResourceNotFound:
                return None

        found = self.call(fetch, what=f"get {name} {record_id}")
        return strip_attributes(found) if found else None

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[QueryPage]:
        """Pages as Salesforce serves them (up to 2,000 rows each); each page is fetched with retries."""
        first = self.call(lambda sf: sf.query(soql, include_deleted=include_deleted), what="query")
        page: Any = first
        while True:
            next_url = page.get("nextRecordsUrl")
            done = bool(page.get("done", True)) or not next_url
            yield QueryPage(
                records=[strip_attributes(r) for r in page.get("records", [])],
                total_size=int(page.get("totalSize", 0)),
                done=done,
                next_locator=None if done else next_url,
            )
            if done:
                return

            def more(sf: Salesforce, url: str = next_url) -> Any:
                return sf.query_more(url, identifier_is_url=True)

            page = self.call(more, what="query (next page)")

    def query_all(self, soql: str, *, include_deleted: bool = False) -> list[CrmRecord]:
        return [row for page in self.query(soql, include_deleted=include_deleted) for row in page.records]

    def lookup(
        self, object_name: str, field: str, values: Sequence[Any], fields: Sequence[str] = ("Id",)
    ) -> list[CrmRecord]:
        """Rows whose `field` is IN `values`, in as few queries as fit Salesforce's URL limit.

        Values are quoted with simple-salesforce's `format_soql`, never spliced; names are checked.
        """
        name = check_name(object_name, "object name")
        key = check_name(field, "field name")
        columns = ", ".join(dict.fromkeys([*(check_name(f, "field name") for f in fields), key]))
        unique = list(dict.fromkeys(v for v in values if v is not None))
        rows: list[CrmRecord] = []
        for chunk in self._lookup_chunks(unique, f"SELECT {columns} FROM {name} WHERE {key} IN "):
            soql = format_soql(f"SELECT {columns} FROM {name} WHERE {key} IN {{}}", chunk)
            rows.extend(self.query_all(soql))
        return rows

    def _lookup_chunks(self, values: list[Any], prefix: str) -> Iterator[list[Any]]:
        chunk: list[Any] = []
        size = len(quote(prefix)) + 2
        for value in values:
            cost = len(quote(format_soql("{}", value))) + 3
            if chunk and (len(chunk) >= self.policy.lookup_chunk or size + cost > self.policy.max_query_chars):
                yield chunk
                chunk, size = [], len(quote(prefix)) + 2
            chunk.append(value)
            size += cost
        if chunk:
            yield chunk

    def limits(self) -> dict[str, Any]:
        return dict(self.call(lambda sf: sf.limits(), what="limits"))

    # -- writes --------------------------------------------------------------------------------------------

    def upsert(self, object_name: str, external_id_field: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        name = check_name(object_name, "object name")
        key = check_name(external_id_field, "field name")
        if not records:
            return []
        self._check_pause()
        rows = [{k: json_value(v) for k, v in r.items()} for r in records]
        if len(rows) >= self.policy.bulk_threshold:
            from connector.salesforce.bulk import bulk_upsert

            return bulk_upsert(self, name, key, rows)
        return self.upsert_collections(name, key, rows)

    def create(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        name = check_name(object_name, "object name")
        if not records:
            return []
        self._check_pause()
        rows = [{k: json_value(v) for k, v in r.items()} for r in records]
        return self._collections(
            rows,
            send=lambda sf, body: sf.restful(
                "composite/sobjects", method="POST", json={"allOrNone": False, "records": body}
            ),
            shape=lambda r: {"attributes": {"type": name}, **r},
            what=f"create {name}",
            created=True,
            # A create repeated after a timeout that the server had already applied makes a duplicate.
            idempotent=False,
        )

    def update(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[RowResult]:
        name = check_name(object_name, "object name")
        if not records:
            return []
        self._check_pause()
        # A row without an Id is sent as it is: the org rejects it (MISSING_ARGUMENT) as a row, not the batch.
        rows: list[CrmRecord] = []
        for r in records:
            record_id = r.get("Id", r.get("id"))
            row = {k: json_value(v) for k, v in r.items() if k not in ("Id", "id")}
            rows.append(row if record_id is None else row | {"id": record_id})
        return self._collections(
            rows,
            send=lambda sf, body: sf.restful(
                "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": body}
            ),
            shape=lambda r: {"attributes": {"type": name}, **r},
            what=f"update {name}",
            created=False,
            idempotent=True,
        )

    def delete(self, object_name: str, ids: Sequence[str]) -> list[RowResult]:
        name = check_name(object_name, "object name")
        if not ids:
            return []
        self._check_pause()
        # Ids travel comma-separated in the URL: anything but letters and digits cannot be an Id, so it is
        # rejected here as a row, like the org would, instead of corrupting the list.
        results: list[RowResult | None] = [
            None
            if re.fullmatch(r"[A-Za-z0-9]+", i)
            else RowResult(False, error_code="MALFORMED_ID", message=f"malformed id {i!r}")
            for i in ids
        ]
        send = [i for i, r in zip(ids, results, strict=True) if r is None]
        sent = iter(
            self._collections(
                [{"id": i} for i in send],
                send=lambda sf, body: sf.restful(
                    "composite/sobjects",
                    method="DELETE",
                    params={"ids": ",".join(r["id"] for r in body), "allOrNone": "false"},
                ),
                shape=lambda r: r,
                what=f"delete {name}",
                created=False,
                idempotent=True,
            )
            if send
            else []
        )
        return [r if r is not None else next(sent) for r in results]

    def _collections(
        self,
        rows: list[CrmRecord],
        *,
        send: Callable[[Salesforce, list[CrmRecord]], Any],
        shape: Callable[[CrmRecord], CrmRecord],
        what: str,
        created: bool | None,
        idempotent: bool,
    ) -> list[RowResult]:
        """Send rows 200 at a time; then re-send only the rows that hit a lock, a few rounds, with backoff."""
        results: list[RowResult | None] = [None] * len(rows)
        pending = list(range(len(rows)))
        size = self.policy.batch_size
        for round_no in range(self.policy.lock_row_rounds + 1):
            if round_no:
                self.sleep(min(self.policy.backoff_max, self.policy.backoff_initial * 2 ** (round_no - 1)))
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                body = [shape(rows[i]) for i in chunk]

                def send_chunk(sf: Salesforce, body: list[CrmRecord] = body) -> Any:
                    return send(sf, body)

                answer = self.call(send_chunk, what=what, idempotent=idempotent)
                if not isinstance(answer, list) or len(answer) != len(chunk):
                    raise FatalCrmError(f"{what}: expected {len(chunk)} results, got {answer!r:.200}")
                for index, item in zip(chunk, answer, strict=True):
                    results[index] = row_result(item, created=created)
            pending = [i for i in pending if (results[i] or RowResult(True)).error_code in ROW_RETRY_CODES]
            if not pending:
                break
        return [r if r is not None else RowResult(False, error_code="UNPROCESSED") for r in results]

    def retry_rows(
        self, object_name: str, external_id_field: str, rows: list[CrmRecord], results: list[RowResult]
    ) -> list[RowResult]:
        """Re-send through Collections only the rows whose result says a retry can succeed (used after Bulk)."""
        redo = [i for i, r in enumerate(results) if r.error_code in ROW_RETRY_CODES]
        if not redo:
            return results
        again = self.upsert_collections(object_name, external_id_field, [rows[i] for i in redo])
        merged = list(results)
        for index, result in zip(redo, again, strict=True):
            merged[index] = result
        return merged

    def upsert_collections(self, object_name: str, external_id_field: str, rows: list[CrmRecord]) -> list[RowResult]:
        name = check_name(object_name, "object name")
        key = check_name(external_id_field, "field name")
        return self._collections(
            rows,
            send=lambda sf, body: sf.restful(
                f"composite/sobjects/{name}/{key}", method="PATCH", json={"allOrNone": False, "records": body}
            ),
            shape=lambda r: {"attributes": {"type": name}, **r},
            what=f"upsert {name} by {key}",
            created=None,
            idempotent=True,
        )

    def close(self) -> None:
        self.http.close()
