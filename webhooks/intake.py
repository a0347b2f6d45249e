"""POST /webhooks/intake/{source}: verify → validate → inbox row (+ job) in one transaction → 202.

Order matters: the source and content type are checked before the body is read, the size while reading
(64 KiB, counted on the stream, not after), the signature on the raw bytes before any parsing, then the
source's rate limit (only verified posts count, so forgeries cannot spend a real sender's budget), and only
then is the payload mapped and validated.  The answer goes out after the commit, so a
202 always means "stored durably": with a job that will deliver it, or quarantined for staff to review.

Quarantine, don't drop: once a post is authenticated and its body parses, content problems never refuse it.
A submission that fails validation (a missing or over-long field, a state or role outside the lists, a field
map that does not fit the form) or fills the honeypot is stored as `quarantined` with the problems (field and
rule, never the values) and no job, and answered 202 like any other, so the sender stops retrying and staff
can correct and release it (`ignite-sync intake release`).  So is a valid submission the CRM mapping refuses on
its own (an email longer than the CRM's field; reason `mapping`), a form field that is not UTF-8 or a mapped
form field sent twice, and a sender's event id that cannot be a delivery id.  Fields the submission does not
have (utm_source, referrer, page URL…) are left out of it and their names recorded; the raw body keeps them.
Only authentication failures (401), bodies that cannot be parsed or could never be stored (400: not JSON or
UTF-8, nested past 32 levels, numbers past 100 digits or a double, unpaired surrogates), oversize bodies
(413), wrong content types (415) and rate limits (429) are refused; 503 only ever means nothing was stored.

Senders that cannot set headers post to `/webhooks/intake/{source}/{token}` (a `token` source; the token is
compared by hash and never logged, webhooks/redact.py).  A `browser` source (the website's own form) has no
secret: its origin is checked before the body is read, its spam signals (form token, fill time, CAPTCHA)
quarantine rather than refuse, a form a person must correct comes back to them (422) instead of waiting unseen,
and webhooks/browser.py turns the answers into a redirect or pages for a browser (JSON for `fetch()`).

Validated posts are written by one group-commit writer (webhooks/group_commit.py): concurrent posts share a
transaction and its commit instead of queueing for one commit each, and each still hears 202 only after the
commit that holds its row and job.  A batch that fails answers 503 with Retry-After to each of its senders.

What a parsed body becomes (its inbox row, or the 400 for a body that cannot be parsed) is decided in
webhooks/intake_checks.py; reading the body within its limit is webhooks/request_body.py (shared with the
import API).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy import Connection, Engine, text

from mappings.profile import Profile
from models import IntakeSubmission, Problem
from models.intake import SERVER_FIELDS as _SERVER_FIELDS
from models.logsafe import loggable
from store.intake import INVALID, InboxRepository, NewDelivery, StoredDelivery
from store.intake_tables import FORM_TOKEN
from sync.intake import INTAKE_JOB, INTAKE_MAX_ATTEMPTS, IntakeMappingCheck
from webhooks.browser import browser_answer, origin_allowed, preflight_headers, request_origin, wants_json
from webhooks.captcha import verify_captcha
from webhooks.client_address import ClientAddress, PerClientLimiter
from webhooks.fieldmaps import FormDocument, PayloadError, parse_body, parse_multipart
from webhooks.form_pages import form_page
from webhooks.form_tokens import FORM_TOKEN_FIELD, FormTokens
from webhooks.group_commit import GroupCommitWriter, WriterUnavailable
from webhooks.intake_checks import classify, invalid_submission, readable_rule
from webhooks.intake_ratelimit import SlidingLogLimiter
from webhooks.metrics import IntakeMetrics
from webhooks.problems import problem, problem_responses
from webhooks.request_body import BodyTooLarge, media_type, read_limited
from webhooks.sources import IntakeSource
from webhooks.verify import SignatureRejected, Verifier

log = logging.getLogger("ignite.intake")

SERVER_FIELDS = tuple(sorted(_SERVER_FIELDS))
# Seconds a sender is asked to wait after a 503 (its batch was not committed; nothing was acknowledged).
RETRY_AFTER_UNAVAILABLE = 5
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MULTIPART = "multipart/form-data"

# The documented request body: the submission as a sender writes it (the service adds source, delivery id
# and the time it was received).  Other fields are allowed and ignored (their names are recorded).
IntakeForm: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "IntakeForm",
    __config__=ConfigDict(extra="allow"),
    **{
        name: (info.annotation, info)
        for name, info in IntakeSubmission.model_fields.items()
        if name not in SERVER_FIELDS
    },
)


class Receipt(BaseModel):
    receipt_id: str
    status: str  # "accepted" (new, 202) or "duplicate" (already received, 200)


def store_deliveries(connection: Connection, deliveries: Sequence[NewDelivery]) -> list[StoredDelivery]:
    """One batch of the group-commit writer: inbox rows plus a job for each new, unquarantined one.

    Runs inside the writer's transaction, so every row and its job commit together or not at all.
    """
    inbox = InboxRepository(connection)
    stored = inbox.insert_many(deliveries)
    fresh = [
        result.inbox_id
        for result, delivery in zip(stored, deliveries, strict=True)
        if result.created and delivery.quarantine_reason is None
    ]
    inbox.enqueue_delivery_jobs(fresh, kind=INTAKE_JOB, max_attempts=INTAKE_MAX_ATTEMPTS)
    return stored


def _durable_sqlite(connection: Connection) -> None:
    """The writer's own SQLite connection syncs every commit to disk (WAL's NORMAL could lose the last commits
    on power loss), so a 202 survives a power cut; grouping makes that one fsync per batch, not per post."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("PRAGMA synchronous=FULL"))


class _SourceRuntime:
    def __init__(self, name: str, config: IntakeSource, metrics: IntakeMetrics, clock: Callable[[], float]) -> None:
        self.name = name
        self.config = config
        self.verifier = Verifier(config)
        # The source's counters, looked up once rather than by label on every post.
        self.accepted = metrics.accepted.labels(source=name)
        self.duplicates = metrics.duplicates.labels(source=name)
        self.quarantined = metrics.quarantined.labels(source=name)
        self.limiter = SlidingLogLimiter.parse(config.rate_limit, clock)
        self.browser = config.scheme == "browser"
        self.client_address = ClientAddress(config.trusted_proxies)
        self.client_limiter = PerClientLimiter(config.client_rate_limit, clock) if self.browser else None


def intake_router(
    *,
    engine: Engine,
    sources: Mapping[str, IntakeSource],
    metrics: IntakeMetrics,
    max_body_bytes: int = 64 * 1024,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch_max: int = 256,
    batch_wait_seconds: float = 0.0,
    profile: Profile | None = None,
    monotonic: Callable[[], float] | None = None,
    form_tokens: FormTokens | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> APIRouter:
    runtimes = {
        name: _SourceRuntime(name, config, metrics, monotonic or time.monotonic) for name, config in sources.items()
    }
    mapping_check = IntakeMappingCheck(profile) if profile is not None else None
    # One writer per app process.  On SQLite it is the only writer of the inbox in this process, so posts queue
    # here rather than in SQLite's busy handler; on Postgres several processes each run one, and the unique
    # (source, delivery id) constraint decides between them.
    writer: GroupCommitWriter[NewDelivery, StoredDelivery] = GroupCommitWriter(
        engine,
        store_deliveries,
        max_batch=batch_max,
        max_wait=batch_wait_seconds,
        prepare=_durable_sqlite,
        on_commit=metrics.commit_batch.observe,
        on_rollback=lambda _size: metrics.commit_failures.inc(),
        name="intake-writer",
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        writer.open()
        yield
        # uvicorn has finished the in-flight requests by now; this writes anything left and stops the thread.
        await asyncio.to_thread(writer.close)

    router = APIRouter(tags=["intake"], lifespan=lifespan)

    def reject(source: str, reason: str, response: JSONResponse) -> JSONResponse:
        metrics.rejected.labels(source=source, reason=reason).inc()
        log.info(
            "intake rejected source=%s reason=%s status=%s", loggable(source), loggable(reason), response.status_code
        )
        return response

    @router.post(
        "/webhooks/intake/{source}",
        status_code=202,
        response_model=Receipt,
        summary="Receive a signed intake submission",
        description=(
            "Verifies the source's signature on the raw body, validates the submission, stores it with its "
            "delivery job in one transaction and answers 202 with a receipt. A submission that fails validation "
            "is stored quarantined for staff review and also answered 202; fields the form has beyond the "
            "submission's are ignored. A repeated delivery (same source and delivery id) answers 200 with the "
            "first receipt and writes nothing. 400 means the body is not JSON (or form data) at all, or holds what "
            "nothing could store (nesting past 32 levels, a number of more than 100 digits, an unpaired surrogate). "
            "Sources "
            "without a field map post the IntakeForm JSON, at the top level or under `data`."
        ),
        responses={
            200: {"description": "repeated delivery: the first receipt", "model": Receipt},
            **problem_responses(400, 401, 404, 413, 415, 429, 503),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/IntakeForm"}},
                    "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                },
            }
        },
    )
    async def receive(source: str, request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await _answer(source, request, None)
        finally:
            metrics.ack_seconds.observe(time.perf_counter() - started)

    @router.post(
        "/webhooks/intake/{source}/{token}",
        status_code=202,
        response_model=Receipt,
        summary="Receive a submission from a sender that can only call a URL",
        description=(
            "For `token` sources whose sender cannot set headers or sign (Wix automations, Jotform, Google Forms "
            "scripts): the token is the last path segment. It is stored only hashed (`token_hashes`, several "
            "while rotating) and never logged: logs show the route template. Otherwise as the signed route; "
            "form sources also take multipart/form-data."
        ),
        responses={
            200: {"description": "repeated delivery: the first receipt", "model": Receipt},
            **problem_responses(400, 401, 404, 413, 415, 429, 503),
        },
    )
    async def receive_with_path_token(source: str, token: str, request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await _answer(source, request, token)
        finally:
            metrics.ack_seconds.observe(time.perf_counter() - started)

    @router.options("/webhooks/intake/{source}", include_in_schema=False)
    async def preflight(source: str, request: Request) -> Response:
        """CORS preflight for `fetch()` posts: answered for a browser source's allowed origins only."""
        runtime = runtimes.get(source)
        origin = request_origin(request)
        if runtime is None or not runtime.browser or not origin_allowed(runtime.config, request, origin):
            return problem(403, "origin-not-allowed", "Origin not allowed", "this origin may not post to this source")
        assert origin is not None
        return Response(status_code=204, headers=preflight_headers(origin))

    async def _answer(source: str, request: Request, path_token: str | None) -> Response:
        answer = await _receive(source, request, path_token)
        runtime = runtimes.get(source)
        if runtime is not None and runtime.browser:
            return browser_answer(request, source, runtime.config, answer, request_origin(request))
        return answer

    async def _receive(source: str, request: Request, path_token: str | None) -> Response:
        runtime = runtimes.get(source)
        if runtime is None:
            # Not a configured live source, so 404 cannot make a real sender disable its webhook.
            return reject(
                "(unknown)",
                "unknown_source",
                problem(
                    404, "unknown-source", "Unknown intake source", "no intake source is configured under this name"
                ),
            )
        if path_token is not None and runtime.config.scheme != "token":
            return reject(
                source,
                "unknown_source",
                problem(404, "unknown-source", "Unknown intake source", "this source takes no token in the path"),
            )
        origin = None
        if runtime.browser:
            # Checked before the body is read: a page elsewhere cannot spend this source's budget.
            origin = request_origin(request)
            if not origin_allowed(runtime.config, request, origin):
                return reject(
                    source,
                    "origin_not_allowed",
                    problem(
                        403,
                        "origin-not-allowed",
                        "This form cannot be sent from here",
                        "the page this form was sent from is not one of the source's allowed origins",
                        errors=[{"field": "Origin", "rule": "must be one of the source's allowed_origins"}],
                    ),
                )
        media = media_type(request)
        allowed = FORM_TYPES if runtime.config.accepts_form else JSON_TYPES
        if media not in allowed:
            return reject(
                source,
                "unsupported_media_type",
                problem(
                    415,
                    "unsupported-media-type",
                    "Unsupported content type",
                    f"this source accepts {' or '.join(allowed)}",
                    errors=[{"field": "Content-Type", "rule": f"must be {' or '.join(allowed)}"}],
                ),
            )
        try:
            body = await read_limited(request, max_body_bytes)
        except BodyTooLarge:
            return reject(
                source,
                "too_large",
                problem(
                    413,
                    "too-large",
                    "Body too large",
                    f"intake bodies are at most {max_body_bytes} bytes",
                    errors=[{"field": "(body)", "rule": f"at most {max_body_bytes} bytes"}],
                ),
            )
        try:
            if path_token is not None:
                verified = runtime.verifier.verify_path_token(request.headers, path_token)
            else:
                verified = runtime.verifier.verify(request.headers, body)
        except SignatureRejected as exc:
            return reject(source, exc.reason, problem(401, "bad-signature", "Signature rejected", exc.detail))
        # Counted after verification, so forged posts cannot spend a real sender's budget.
        limited = runtime.limiter.hit()
        if limited.limited:
            retry_after = max(1, math.ceil(limited.retry_after))
            return reject(
                source,
                "rate_limited",
                problem(
                    429,
                    "rate-limited",
                    "Too many requests",
                    f"this source accepts {runtime.config.rate_limit}; retry after {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                ),
            )
        client = None
        if runtime.client_limiter is not None:
            client = runtime.client_address.of(
                request.client.host if request.client else None, request.headers.get("x-forwarded-for")
            )
            per_client = runtime.client_limiter.hit(client)
            if per_client.limited:
                retry_after = max(1, math.ceil(per_client.retry_after))
                return reject(
                    source,
                    "client_rate_limited",
                    problem(
                        429,
                        "rate-limited",
                        "Too many forms sent",
                        f"this form accepts {runtime.config.client_rate_limit} from one address; "
                        f"please wait {retry_after} s and send it again",
                        headers={"Retry-After": str(retry_after)},
                    ),
                )
        received_at = clock()
        try:
            if media == MULTIPART:
                document: Any = await parse_multipart(body, request.headers.get("content-type", ""))
            else:
                document = parse_body(body, form=runtime.config.accepts_form)
        except PayloadError as exc:  # not JSON / not UTF-8 form data: nothing to keep or review
            return reject(source, "invalid_body", invalid_submission([Problem("submission", exc.field, exc.rule)]))
        spam = await _browser_checks(runtime, source, document, client) if runtime.browser else None
        delivery = classify(
            runtime.config, source, document, body, media, received_at, verified.delivery_id, mapping_check, spam
        )
        if runtime.browser and delivery.quarantine_reason == INVALID and isinstance(document, FormDocument):
            # A person is at the form: show them what to correct instead of keeping what they cannot see.
            return _form_errors(source, runtime, request, document, delivery.quarantine_problems or [])
        quarantine = delivery.quarantine_reason
        delivery_id = delivery.delivery_id
        email = delivery.email_hash
        try:
            stored = await writer.submit(delivery)
        except WriterUnavailable as exc:
            return reject(
                source,
                "unavailable",
                problem(
                    503,
                    "unavailable",
                    "Temporarily unavailable",
                    f"the submission was not stored ({exc}); nothing was accepted, retry the same delivery",
                    headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
                ),
            )
        if not stored.created:
            runtime.duplicates.inc()
            log.info(
                "intake duplicate source=%s delivery=%s receipt=%s",
                loggable(source),
                loggable(delivery_id),
                stored.receipt_id,
            )
            return JSONResponse({"receipt_id": stored.receipt_id, "status": "duplicate"}, status_code=200)
        if quarantine is not None:
            runtime.quarantined.inc()
            fields = ",".join(sorted({p["field"] for p in delivery.quarantine_problems or []}))
            log.info(
                "intake quarantined source=%s delivery=%s receipt=%s reason=%s fields=%s",
                loggable(source),
                loggable(delivery_id),
                stored.receipt_id,
                quarantine,
                loggable(fields),
            )
        else:
            runtime.accepted.inc()
            log.info(
                "intake accepted source=%s delivery=%s receipt=%s email=%s",
                loggable(source),
                loggable(delivery_id),
                stored.receipt_id,
                email,
            )
        # A quarantined post gets the same answer as an accepted one: a bot learns nothing, and a real sender
        # stops retrying something that is safely stored.
        return JSONResponse({"receipt_id": stored.receipt_id, "status": "accepted"}, status_code=202)

    async def _browser_checks(
        runtime: _SourceRuntime, source: str, document: Any, client: str | None
    ) -> tuple[str, Problem] | None:
        """The spam signals of a browser post: a missing, forged, expired or too-young form token, then the
        CAPTCHA.  Each quarantines (never refuses): a real person's post must not be lost to a false alarm."""
        config = runtime.config
        fields = document if isinstance(document, dict) else {}
        token = fields.get(FORM_TOKEN_FIELD)
        if form_tokens is None:
            return (FORM_TOKEN, Problem("submission", FORM_TOKEN_FIELD, "no form-token key is configured"))
        checked = form_tokens.check(
            source,
            token if isinstance(token, str) else None,
            wall_clock(),
            min_fill_seconds=config.min_fill_seconds,
            max_age_seconds=config.form_token_max_age_seconds,
        )
        if checked.problem is not None:
            return (checked.problem, Problem("submission", FORM_TOKEN_FIELD, checked.rule))
        if config.captcha is not None:
            response = fields.get(config.captcha.field)
            verdict = await verify_captcha(config.captcha, response if isinstance(response, str) else None, client)
            if verdict.problem is not None:
                return (verdict.problem, Problem("submission", config.captcha.field, verdict.rule))
        return None

    def _form_errors(
        source: str,
        runtime: _SourceRuntime,
        request: Request,
        document: FormDocument,
        problems: list[dict[str, str]],
    ) -> Response:
        metrics.rejected.labels(source=source, reason="invalid_form").inc()
        fields = ",".join(sorted({p["field"] for p in problems}))
        log.info("intake form returned for correction source=%s fields=%s", loggable(source), loggable(fields))
        if wants_json(request) or form_tokens is None:
            return problem(
                422,
                "invalid-form",
                "Please correct the form",
                "some fields are missing or not valid; nothing was kept",
                errors=problems,
            )
        errors = {p["field"]: readable_rule(p["rule"]) for p in problems}
        page = form_page(
            source,
            runtime.config,
            action=f"/webhooks/intake/{source}",
            token=form_tokens.issue(source, wall_clock()),
            values={k: v for k, v in document.items() if k != FORM_TOKEN_FIELD},
            errors=errors,
        )
        return HTMLResponse(page, status_code=422)

    return router
