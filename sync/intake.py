"""The intake job: deliver one accepted submission to the CRM without ever losing or duplicating it.

Every submission becomes its own record in the CRM: a Task, upserted on the submission's key, on the person it
concerns.  The person is, in order: an existing Contact with the email; else an open (unconverted) Lead with
the email; else a new Lead upserted on the submission's key (Company = organisation, LeadSource as the mapping
profile declares, no message text).  No write depends on a value read earlier: the Lead is created or
matched, never rewritten, and the message lives only in the submission's own Task, so two deliveries for the
same person cannot overwrite each other's text, and a retry (a timeout whose write may have applied,
MaybeAppliedError) rewrites the same Task instead of adding a second one.  When the Lead is converted,
Salesforce moves its Tasks to the new Contact, so the history follows the person.

Two deliveries for the same person must not both find "no Lead" and both create one: the handler runs each
delivery inside the person's lane (`store.intake_lanes.person_lane`, keyed by the email hash), so deliveries
for one person run one at a time across threads and, on Postgres, across worker processes.  A duplicate rule
that blocks the new Lead (DUPLICATES_DETECTED) is data, not failure: the matched record gets the Task.

SOQL values go through `connector.soql.soql_quote`, so `o'brien@example.org` is an ordinary email and
no field can change a query's shape.  While the CRM is unreachable the connector raises TransientCrmError and
the worker retries with backoff (about 72 hours) before dead-lettering; the inbox row stays `pending` and keeps
its body throughout.  A submission the mapping itself refuses (MappingRejected: a value no CRM field can
hold) can never succeed by waiting, so it is permanent: the row goes back to quarantine for staff to correct.
Logs carry the delivery id and a hash of the email, never the submission.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from connector.base import CrmConnector, FatalCrmError, RowResult
from connector.reader import query_all
from connector.soql import soql_quote
from mappings.profile import Profile
from mappings.spec import FieldSpec
from mappings.transform import CrmWrite, MappingRejected, step_write, to_crm
from models import IntakeSubmission, Problem
from models.intake import SENDER_FIELDS, truncate_overlong, validate_submission
from models.keys import email_hash
from models.logsafe import loggable
from store.erasure import erased_email, refusal_rule
from store.intake import DISCARDED, MAPPING, PENDING, QUARANTINED, InboxRepository
from store.intake_lanes import person_lane
from store.jobs import Job

log = logging.getLogger("ignite.intake")

INTAKE_JOB = "intake"
# Attempts are bounded by the retry policy's ~72-hour budget first; this only stops a job that crashes workers.
INTAKE_MAX_ATTEMPTS = 500
LEAD_STEP = "intake_lead"
NOTE_STEP = "intake_note"
# The profiles' flag that switches the Task step on (and the Lead step off) for one submission.
EXISTING_CONTACT = "existing_contact"
# The Lead is the person, not the message: its text lives in the submission's Task (see the module docstring).
LEAD_TEXT_FIELDS = frozenset({"Description"})
CONTACT_BY_EMAIL = "SELECT Id FROM Contact WHERE Email = {} ORDER BY CreatedDate LIMIT 1"
OPEN_LEAD_BY_EMAIL = "SELECT Id FROM Lead WHERE Email = {} AND IsConverted = false ORDER BY CreatedDate LIMIT 1"
# {key_field} is the profile's checked external-ID field name; {key} goes through soql_quote.
LEAD_BY_KEY = "SELECT Id FROM Lead WHERE {key_field} = {key} LIMIT 1"

# Quarantine reason: the submission's person was forgotten (`ignite-sync forget`) and not allowed back.
ERASED = "erased"

LINKED_CONTACT = "linked_contact"
LINKED_LEAD = "linked_lead"
CREATED_LEAD = "created_lead"
ADOPTED_DUPLICATE = "adopted_duplicate"


class IntakeRejected(FatalCrmError):
    """The CRM refused the submission's record for a reason retrying cannot fix; it goes to the dead-letter list."""


@dataclass(frozen=True)
class IntakeOutcome:
    outcome: str
    object_name: str
    record_id: str
    task_id: str | None = None


ConnectorFactory = Callable[[], CrmConnector]


def _first_id(crm: CrmConnector, soql: str) -> dict[str, Any] | None:
    return next(query_all(crm, soql), None)  # stops after the page holding the first record


def _write(profile: Profile, submission: IntakeSubmission, step: str, flags: tuple[str, ...]) -> CrmWrite:
    """The one write `step` makes of the submission (only that step's transform runs)."""
    write = step_write(submission, profile, step, flags=flags) if step in profile.steps else None
    if write is not None:
        return write
    raise FatalCrmError(f"profile {profile.name} has no {step!r} step for intake submissions")


def mapping_problems(submission: IntakeSubmission, profile: Profile) -> list[Problem]:
    """What the mapping refuses in this submission (an email longer than the CRM's 80 characters…), found
    without a CRM: the same writes `IntakeDelivery` makes, built and thrown away.  The webhook quarantines a
    submission with problems instead of queueing a job that could only fail, and staff releasing one are
    held to the same rule.  (The webhook uses `IntakeMappingCheck`, the same check made cheap.)"""
    problems: list[Problem] = []
    for flags in ((), (EXISTING_CONTACT,)) if EXISTING_CONTACT in profile.flags else ((),):
        try:
            to_crm(submission, profile, flags=flags)
        except MappingRejected as exc:
            problems += [p for p in exc.problems if p not in problems]
    return problems


def _can_refuse(spec: FieldSpec) -> bool:
    """Whether mapping this field can raise a problem: a length it must not exceed, a value map, a template,
    a conversion or derivation, a path into related records.  A plain source field copied as it is cannot."""
    return (
        (spec.max_length is not None and spec.overflow != "truncate")
        or spec.value_map is not None
        or spec.template is not None
        or spec.convert is not None
        or spec.derive is not None
        or (spec.source is not None and "." in spec.source)
    )


class IntakeMappingCheck:
    """`mapping_problems` for the webhook's hot path: the intake steps reduced, once, to the fields that can
    refuse a value, so a post pays for three or four fields instead of every field of two writes.  The same
    transform code runs on them, so the answer is the same (tests compare the two)."""

    def __init__(self, profile: Profile) -> None:
        reduced = {
            name: step.model_copy(update={"fields": {f: spec for f, spec in step.fields.items() if _can_refuse(spec)}})
            for name, step in profile.steps.items()
            if step.model == "IntakeSubmission"
        }
        self.profile = replace(profile, steps={**profile.steps, **reduced})

    def __call__(self, submission: IntakeSubmission) -> list[Problem]:
        return mapping_problems(submission, self.profile)


def _plain_payload(write: CrmWrite, drop: Set[str]) -> dict[str, Any]:
    """The write's payload without the API fields in `drop` (references we set by Id instead)."""
    return {key: value for key, value in write.payload.items() if write.field_names.get(key, key) not in drop}


def _rejected(result: RowResult, what: str) -> IntakeRejected:
    fields = f" ({', '.join(result.fields)})" if result.fields else ""
    return IntakeRejected(f"{what}: {result.error_code}{fields}: {result.message}", code=result.error_code)


class IntakeDelivery:
    """Delivers one submission through a connector.  Pure decision-making over the port; no database.

    Callers serialise deliveries for the same person (the handler's person lane); a delivery itself makes
    only keyed writes, so running it again, whole or after any step, changes nothing it already did.
    """

    def __init__(self, crm: CrmConnector, profile: Profile) -> None:
        self.crm = crm
        self.profile = profile

    def deliver(self, submission: IntakeSubmission) -> IntakeOutcome:
        contact = _first_id(self.crm, CONTACT_BY_EMAIL.format(soql_quote(submission.email)))
        if contact is not None:
            return self._task_on(LINKED_CONTACT, "Contact", str(contact["Id"]), submission)
        lead = _first_id(self.crm, OPEN_LEAD_BY_EMAIL.format(soql_quote(submission.email)))
        if lead is not None:
            return self._task_on(LINKED_LEAD, "Lead", str(lead["Id"]), submission)
        return self._new_lead(submission)

    def _task_on(self, outcome: str, object_name: str, who_id: str, submission: IntakeSubmission) -> IntakeOutcome:
        """The submission's own Task on the person, upserted on the submission's key: a retry rewrites it."""
        write = _write(self.profile, submission, NOTE_STEP, (EXISTING_CONTACT,))
        payload = _plain_payload(write, {"WhoId"})
        payload["WhoId"] = who_id
        [result] = self.crm.upsert("Task", write.key_field, [payload])
        if not result.success or result.id is None:
            raise _rejected(result, f"the Task on the {object_name} was refused")
        return IntakeOutcome(outcome, object_name, who_id, result.id)

    def _new_lead(self, submission: IntakeSubmission) -> IntakeOutcome:
        """A Lead for a new person (keyed by this submission, without the message), then the Task on it.

        A Lead already carrying this submission's key is this job's own, from an attempt whose answer was lost
        (and whose email staff have since changed, or the email look-up would have found it): it is matched,
        not upserted again, so staff's edits to it stand."""
        write = _write(self.profile, submission, LEAD_STEP, ())
        own = _first_id(self.crm, LEAD_BY_KEY.format(key_field=write.key_field, key=soql_quote(write.key)))
        if own is not None:
            return self._task_on(CREATED_LEAD, "Lead", str(own["Id"]), submission)
        [result] = self.crm.upsert("Lead", write.key_field, [_plain_payload(write, LEAD_TEXT_FIELDS)])
        if result.success and result.id is not None:
            return self._task_on(CREATED_LEAD, "Lead", result.id, submission)
        if result.error_code == "DUPLICATES_DETECTED" and result.matched_ids:
            return self._adopt(result.matched_ids[0], submission)
        raise _rejected(result, "the new Lead was refused")

    def _adopt(self, record_id: str, submission: IntakeSubmission) -> IntakeOutcome:
        """A duplicate rule matched an existing record: the submission's Task goes on it instead of failing."""
        object_name = "Contact" if self.crm.get("Contact", record_id, ["Id"]) is not None else "Lead"
        return self._task_on(ADOPTED_DUPLICATE, object_name, record_id, submission)


def _close(crm: CrmConnector) -> None:
    """Close a connector the handler is done with (its HTTP connections or database pool).

    Left open, every discarded connector leaves sockets behind until garbage collection, and a backlog retried
    after an outage would leave hundreds.  Closing is optional on the port, so connectors without `close` are
    left as they are.
    """
    close = getattr(crm, "close", None)
    if callable(close):
        close()


class IntakeHandler:
    """The worker's handler for `intake` jobs (payload `{"inbox_id": …}`); see sync.worker.Handler.

    With `keep_connector` (the default, right for Salesforce) each worker thread keeps the connector it built
    and reuses it for its next jobs: a burst of leads costs one login, not a login and a pool per lead
    (Salesforce counts logins per user and hour, and each OAuth round trip delays the lead).  Any failure other
    than the CRM refusing the record throws the kept connector away, so the next attempt starts from a fresh
    login and fresh connections; a CRM that is down then fails in the factory, which is a transient error the
    worker retries.  `keep_connector=False` opens one per job, for the embedded local CRM: a kept SQLite
    connection would go on writing into a database file that was deleted or replaced underneath it.
    `close()` closes every kept connector when the worker stops.
    """

    def __init__(
        self, engine: Engine, connector_factory: ConnectorFactory, profile: Profile, *, keep_connector: bool = True
    ) -> None:
        self.engine = engine
        self.connector_factory = connector_factory
        self.profile = profile
        self.keep_connector = keep_connector
        self._local = threading.local()
        self._lock = threading.Lock()
        self._kept: list[CrmConnector] = []  # every thread's kept connector, for close()

    def _acquire(self) -> CrmConnector:
        crm: CrmConnector | None = getattr(self._local, "crm", None)
        if crm is None:
            crm = self.connector_factory()
            if self.keep_connector:
                self._local.crm = crm
                with self._lock:
                    self._kept.append(crm)
        return crm

    def _release(self, crm: CrmConnector, *, healthy: bool) -> None:
        if self.keep_connector and healthy:
            return
        if getattr(self._local, "crm", None) is crm:
            self._local.crm = None
            with self._lock:
                self._kept.remove(crm)
        _close(crm)

    def close(self) -> None:
        with self._lock:
            kept, self._kept = self._kept, []
        for crm in kept:
            _close(crm)

    def __call__(self, job: Job, control: object = None) -> None:
        inbox_id = int(job.payload["inbox_id"])
        with self.engine.connect() as connection:
            entry = InboxRepository(connection).get(inbox_id)
        if entry is None:
            raise FatalCrmError(f"intake job {job.id}: inbox row {inbox_id} does not exist")
        if entry.status != PENDING or entry.submission is None:
            log.info("intake delivery=%s already settled (%s)", loggable(entry.delivery_id), entry.status)
            return
        submission = IntakeSubmission.model_validate(entry.submission)
        person = email_hash(submission.email)
        with self.engine.connect() as connection:
            erased_on = erased_email(connection, submission.email)
        if erased_on is not None:
            self._hold_erased(entry.id, entry.delivery_id, submission, erased_on)
            return
        try:
            with person_lane(self.engine, person):
                outcome = self._deliver(submission)
        except MappingRejected as exc:
            self._requarantine(entry.id, entry.delivery_id, submission, exc)
            return
        except FatalCrmError as exc:
            with self.engine.begin() as connection:
                InboxRepository(connection).record_error(inbox_id, str(exc), final=True)
            log.warning(
                "intake delivery=%s email=%s refused: %s", loggable(entry.delivery_id), person, loggable(exc.code)
            )
            raise
        except Exception as exc:
            with self.engine.begin() as connection:
                InboxRepository(connection).record_error(inbox_id, f"{type(exc).__name__}: {exc}", final=False)
            raise
        with self.engine.begin() as connection:
            InboxRepository(connection).record_outcome(
                inbox_id,
                outcome=outcome.outcome,
                crm_object=outcome.object_name,
                crm_id=outcome.record_id,
                at=datetime.now(UTC),
            )
        log.info(
            "intake delivery=%s email=%s %s %s",
            loggable(entry.delivery_id),
            person,
            outcome.outcome,
            loggable(outcome.record_id),
        )

    def _deliver(self, submission: IntakeSubmission) -> IntakeOutcome:
        crm = self._acquire()
        healthy = False
        try:
            outcome = IntakeDelivery(crm, self.profile).deliver(submission)
            healthy = True
        except (IntakeRejected, MappingRejected):
            healthy = True  # the CRM answered and refused this record, or it never left: the connection is fine
            raise
        finally:
            self._release(crm, healthy=healthy)
        return outcome

    def _hold_erased(self, inbox_id: int, delivery_id: str, submission: IntakeSubmission, erased_on: datetime) -> None:
        """A person who was forgotten is not delivered again until an administrator allows it: the row waits
        in quarantine (reason `erased`) for staff, as any submission the service cannot deliver does."""
        fields = {k: v for k, v in submission.model_dump(mode="json").items() if k in SENDER_FIELDS}
        problems = [{"field": "email", "rule": refusal_rule(erased_on)}]
        with self.engine.begin() as connection:
            InboxRepository(connection).requarantine(inbox_id, reason=ERASED, problems=problems, candidate=fields)
        log.warning("intake delivery=%s quarantined: the person was erased", loggable(delivery_id))

    def _requarantine(
        self, inbox_id: int, delivery_id: str, submission: IntakeSubmission, exc: MappingRejected
    ) -> None:
        """A mapping rejection is permanent (waiting cannot shorten an email): the row goes back to staff with
        the problems and its fields, and the job ends; `intake release --set` fixes and re-queues it."""
        problems = [{"field": p.field, "rule": p.rule} for p in exc.problems]
        fields = {k: v for k, v in submission.model_dump(mode="json").items() if k in SENDER_FIELDS}
        with self.engine.begin() as connection:
            InboxRepository(connection).requarantine(inbox_id, reason=MAPPING, problems=problems, candidate=fields)
        log.warning(
            "intake delivery=%s quarantined: the mapping refuses %s",
            loggable(delivery_id),
            loggable(",".join(sorted({p["field"] for p in problems}))),
        )


# ------------------------------------------------------------------------------------- quarantine release


class ReleaseRefused(Exception):
    """The row cannot be released at all (unknown id, or discarded); the message says which."""


@dataclass(frozen=True)
class ReleaseResult:
    """What `release_quarantined` did.  `released` is True only for the call that enqueued the job;
    `problems` (field and rule) are why the corrected submission still does not validate."""

    inbox_id: int
    status: str
    released: bool
    problems: list[Problem] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)


def release_quarantined(
    engine: Engine,
    inbox_id: int,
    *,
    corrections: Mapping[str, Any] | None = None,
    truncate: bool = False,
    note: str | None = None,
    now: datetime | None = None,
    profile: Profile | None = None,
) -> ReleaseResult:
    """Re-validate a quarantined submission (with staff's corrections) and, when it passes, make it pending
    with the ordinary intake job, in one transaction.

    The fields are the ones read from the body when it arrived (`candidate`), overlaid with `corrections`
    (None or "" clears a field); `truncate` cuts over-long text to its limit.  A row already released
    answers `released=False` and enqueues nothing, so running the command twice delivers once.  With the
    mapping `profile`, a submission the mapping would refuse (an email longer than the CRM's field) stays
    quarantined with the reason, as it would at the webhook.
    """
    now = now or datetime.now(UTC)
    corrections = dict(corrections or {})
    unknown = sorted(set(corrections) - SENDER_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(SENDER_FIELDS))
        problems = [Problem("correction", name, f"is not a submission field (allowed: {allowed})") for name in unknown]
        return ReleaseResult(inbox_id, QUARANTINED, released=False, problems=problems)
    with engine.begin() as connection:
        inbox = InboxRepository(connection)
        entry = inbox.get(inbox_id)
        if entry is None:
            raise ReleaseRefused(f"inbox row {inbox_id} does not exist")
        if entry.status == DISCARDED:
            raise ReleaseRefused(f"inbox row {inbox_id} was discarded ({entry.review_note or 'no reason given'})")
        if entry.status != QUARANTINED:
            return ReleaseResult(inbox_id, entry.status, released=False)
        fields = {key: value for key, value in (entry.candidate or {}).items() if key in SENDER_FIELDS}
        for name, value in corrections.items():
            if value is None or value == "":
                fields.pop(name, None)
            else:
                fields[name] = value
        truncated: list[str] = []
        if truncate:
            fields, truncated = truncate_overlong(fields)
        result = validate_submission(
            fields, source=entry.source, delivery_id=entry.delivery_id, received_at=entry.received_at
        )
        if isinstance(result, list):
            return ReleaseResult(inbox_id, QUARANTINED, released=False, problems=result, truncated=truncated)
        refused = mapping_problems(result, profile) if profile is not None else []
        if refused:
            return ReleaseResult(inbox_id, QUARANTINED, released=False, problems=refused, truncated=truncated)
        released = inbox.release(
            inbox_id,
            submission=result.model_dump(mode="json"),
            email_hash=email_hash(result.email),
            note=note,
            at=now,
            kind=INTAKE_JOB,
            max_attempts=INTAKE_MAX_ATTEMPTS,
        )
    if released:
        log.info(
            "intake released inbox=%s delivery=%s email=%s",
            inbox_id,
            loggable(entry.delivery_id),
            email_hash(result.email),
        )
        return ReleaseResult(inbox_id, PENDING, released=True, truncated=truncated)
    # Someone settled the row between the read and the guarded update (released, discarded, expired): say what
    # it is now, never "pending" for a row that was discarded.
    with engine.connect() as connection:
        now_entry = InboxRepository(connection).get(inbox_id)
    status = now_entry.status if now_entry is not None else DISCARDED
    if status == DISCARDED:
        reason = now_entry.review_note if now_entry is not None else None
        raise ReleaseRefused(f"inbox row {inbox_id} was discarded ({reason or 'no reason given'})")
    return ReleaseResult(inbox_id, status, released=False, truncated=truncated)


def discard_quarantined(engine: Engine, inbox_id: int, *, reason: str, now: datetime | None = None) -> bool:
    """Mark a quarantined row discarded (spam, a test post) with staff's reason; False if it was not
    quarantined.  Its body is then purged after the ordinary retention period."""
    with engine.begin() as connection:
        done = InboxRepository(connection).discard(inbox_id, note=reason, at=now or datetime.now(UTC))
    if done:
        log.info("intake discarded inbox=%s", inbox_id)
    return done
