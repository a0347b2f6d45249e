"""From a mapping profile and the service database to the engine's steps and their candidate rows.

The profile (mappings/) says which CRM write each step makes of a model instance (`step_write`) and in what
order; this module reads the instances from the service database a page at a time, fetches the related
records a transform needs in one batch per page (sync/related.py), and turns the step's write into a planner
`Candidate`: its key, payload, parent references (from the lookups) and the hash of the record it came from.

Derived records (engagement summaries, cohort outcome aggregates, the measure catalogue: sync/derived.py) are
recomputed from their inputs, but only when an input table changed since the step was last fully synced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, case, func, select

from mappings.profile import Profile
from mappings.registry import model_name
from mappings.transform import CrmWrite, MappingRejected, relationship_name, step_write
from models import IntakeSubmission, participant_key
from models.canonical import canonical_hash
from models.keys import normalise_email
from models.problems import Problem
from store.jobs_tables import sync_ledger
from store.ledger import LedgerRepository
from store.records import KINDS, RecordKind
from store.repository import RecordRepository
from sync.derived import Producer, derived_producers
from sync.plan import Candidate, ParentRef
from sync.related import MODEL_KINDS, StoreRelated
from sync.steps import PlannedStep, StepDef

MATCH_OBJECTS = {"Contact", "Lead"}  # people: adopt an existing record with the same email before creating
PAGE = 1000


# -- steps -----------------------------------------------------------------------------------------------------


def step_fingerprint(profile: Profile, step: str) -> str:
    """Changes whenever the step's definition (or the key field it upserts on) changes."""
    spec = profile.steps[step]
    return canonical_hash(
        {"profile": profile.name, "key_field": profile.key_field_of(step), "spec": spec.model_dump(mode="json")}
    )


def _lookups(profile: Profile, step: str) -> dict[str, tuple[str, str]]:
    """{payload key of a lookup: (step it points at, that step's key field)}."""
    found = {}
    for name, spec in profile.steps[step].fields.items():
        if spec.lookup is not None:
            rel = spec.lookup.relationship or relationship_name(name)
            found[rel] = (spec.lookup.step, profile.key_field_of(spec.lookup.step))
    return found


def _owner_step(profile: Profile, step: str) -> str | None:
    """For `update_existing` steps: the step that creates the record this one adds fields to."""
    spec = profile.steps[step]
    for other in spec.after:
        if profile.steps[other].object == spec.object:
            return other
    return None


def step_def(profile: Profile, step: str) -> StepDef:
    spec = profile.steps[step]
    match_field = "Email" if spec.object in MATCH_OBJECTS and "Email" in spec.fields else None
    return StepDef(
        name=step,
        object_name=spec.object,
        key_field=profile.key_field_of(step),
        parents=profile.dependencies(step),
        match_field=match_field,
        fingerprint=step_fingerprint(profile, step),
    )


@dataclass
class _StepMapper:
    """Turns instances into this step's candidates through the profile's transform."""

    profile: Profile
    step: StepDef
    flags: frozenset[str]
    org_flags: Callable[[], frozenset[str]] | None = None
    lookups: dict[str, tuple[str, str]] = field(init=False)
    owner: str | None = field(init=False)
    siblings: list[str] = field(init=False)  # the other steps mapping the same model, in profile order
    position: int = field(init=False)  # how many of them come before this step
    _shares_object: bool = field(init=False)  # whether one of them writes this step's object too

    def __post_init__(self) -> None:
        self.lookups = _lookups(self.profile, self.step.name)
        self.owner = _owner_step(self.profile, self.step.name)
        same_model = self.profile.steps_for(self.profile.steps[self.step.name].model)
        self.position = same_model.index(self.step.name)
        self.siblings = [s for s in same_model if s != self.step.name]
        self._shares_object = any(self.profile.steps[s].object == self.step.object_name for s in self.siblings)
        if not self.profile.uses_detected_flags(self.step.name):
            self.org_flags = None

    def _flags(self, extra: Iterable[str]) -> frozenset[str]:
        """The run's flags, the record's own, and (first needed here) what the org's describe switched on."""
        detected = self.org_flags() if self.org_flags is not None else frozenset()
        return self.flags | detected | set(extra)

    @property
    def keys_may_repeat(self) -> bool:
        """A step keyed by something other than the record's own key may map several records to one CRM row
        (pre and post outcomes share one indicator assignment)."""
        return self.profile.steps[self.step.name].key != "{key}"

    def dedupe(self, candidates: Iterator[Candidate]) -> Iterator[Candidate]:
        """One candidate per key: identical repeats are dropped, conflicting ones are reported invalid."""
        if not self.keys_may_repeat:
            yield from candidates
            return
        seen: dict[str, str | None] = {}
        for candidate in candidates:
            if candidate.key not in seen:
                seen[candidate.key] = candidate.payload_hash
                yield candidate
            elif seen[candidate.key] != candidate.payload_hash and candidate.payload is not None:
                problem = (
                    f"{candidate.source_key} maps to {candidate.key} ({self.step.name}) with other values than an "
                    "earlier record: the profile's key for this step must tell them apart"
                )
                yield Candidate(key=f"{candidate.key}", payload=None, source_key=candidate.source_key, problem=problem)

    def candidate(
        self, instance: BaseModel, related: StoreRelated, source_hash: str, extra_flags: Iterable[str] = ()
    ) -> Candidate | None:
        """This step's row for `instance`: its write (this step's transform only), or why it is invalid.

        A record the profile cannot map is invalid in each of its steps: the problems of the record's other
        steps (`siblings`) make this step's row invalid too, naming them, while this step's own problems name
        only its own."""
        source_key = str(getattr(instance, "key"))  # noqa: B009
        spec = self.profile.steps[self.step.name]
        chosen = self.flags | set(extra_flags)
        if (spec.when is not None and spec.when not in chosen) or (spec.unless is not None and spec.unless in chosen):
            return None  # a `when`/`unless` flag leaves this step out for this record (and asks nothing of the org)
        flags = self._flags(extra_flags)
        own: list[Problem] = []
        write: CrmWrite | None = None
        try:
            write = step_write(instance, self.profile, self.step.name, related=related, flags=flags)
        except MappingRejected as exc:
            own = exc.problems
        if own and not self._shares_object:
            return self._invalid(source_key, source_hash, own)  # what the other steps say cannot change this
        before, after = self._sibling_problems(instance, related, flags)
        problems = before + own + after
        if problems:
            mine = [p for p in problems if self._concerns_me(p.field)]
            if not mine:
                return None if not self._maps(instance) else self._invalid(source_key, source_hash, problems)
            return self._invalid(source_key, source_hash, mine)
        if write is None:
            return None  # a `when`/`unless` flag leaves this step out for this record
        return self._from_write(write, source_key, source_hash)

    def _sibling_problems(
        self, instance: BaseModel, related: StoreRelated, flags: frozenset[str]
    ) -> tuple[list[Problem], list[Problem]]:
        """The problems of the model's other steps, those ordered before this one and those after."""
        found: tuple[list[Problem], list[Problem]] = ([], [])
        for index, sibling in enumerate(self.siblings):
            try:
                step_write(instance, self.profile, sibling, related=related, flags=flags)
            except MappingRejected as exc:
                found[0 if index < self.position else 1].extend(exc.problems)
        return found

    def _maps(self, instance: BaseModel) -> bool:
        return self.profile.steps[self.step.name].model == model_name(instance)

    def _concerns_me(self, field_path: str) -> bool:
        head = field_path.split(".", 1)[0]
        return head in (self.step.name, self.step.object_name)

    def _invalid(self, source_key: str, source_hash: str, problems: Sequence[Any]) -> Candidate:
        return Candidate(
            key=source_key,
            payload=None,
            source_hash=source_hash,
            source_key=source_key,
            problem="; ".join(str(p) for p in problems),
        )

    def _from_write(self, write: CrmWrite, source_key: str, source_hash: str) -> Candidate:
        parents: list[ParentRef] = []
        for rel, (parent_step, key_field) in self.lookups.items():
            reference = write.payload.get(rel)
            if isinstance(reference, dict) and reference.get(key_field):
                parents.append(ParentRef(parent_step, str(reference[key_field]), via=rel))
        if write.operation == "update_existing" and self.owner is not None:
            parents.append(ParentRef(self.owner, write.key))
        match_value = None
        if self.step.match_field:
            email = write.payload.get(self.step.match_field)
            if isinstance(email, str) and email:
                try:
                    match_value = normalise_email(email)
                except ValueError:
                    match_value = None
        return Candidate(
            key=write.key,
            payload=write.payload,
            parents=tuple(parents),
            source_hash=source_hash,
            match_value=match_value,
            source_key=source_key,
            write=write,
            ensures=tuple({"member_status": s.model_dump()} for s in write.member_statuses)
            if write.member_statuses
            else (),
        )


def _max_updated_at(engine: Engine, kinds: Iterable[RecordKind]) -> datetime | None:
    latest: datetime | None = None
    with engine.connect() as conn:
        for kind in kinds:
            value = conn.execute(select(func.max(kind.table.c.updated_at))).scalar()
            if value is not None and (latest is None or value > latest):
                latest = value
    return latest


@dataclass
class TableSource:
    """Candidates from one table of program records, with the ledger's fast unchanged test."""

    mapper: _StepMapper
    kind: RecordKind
    needs: set[str]

    @property
    def _inputs(self) -> list[RecordKind]:
        return [MODEL_KINDS[m] for m in sorted(self.needs) if m in MODEL_KINDS]

    def total(self, engine: Engine) -> int | None:
        with engine.connect() as conn:
            return RecordRepository(conn, self.kind).count()

    def fresh_count(self, engine: Engine) -> int:
        with engine.connect() as conn:
            return LedgerRepository(conn).count_fresh(
                self.kind,
                self.mapper.step.name,
                self.mapper.step.fingerprint,
                not_before=_max_updated_at(engine, self._inputs),
            )

    def candidates(self, engine: Engine, *, full: bool) -> Iterator[Candidate]:
        return self.mapper.dedupe(self._candidates(engine, full=full))

    def referencing(self, engine: Engine, parents: Mapping[str, set[str]]) -> Iterator[Candidate]:
        """This step's rows that look up any of these parent keys (their parent's CRM Id changed, sync.relink).

        A lookup that reads a column of the record straight (`source: participant`) onto a parent keyed by the
        record's own key is found by that indexed column; any other shape by building the step's every row.
        """
        columns = self._reference_columns(parents)
        if columns is None:
            found: Iterator[Candidate] = self.candidates(engine, full=True)
        else:
            found = self.mapper.dedupe(self._referencing_rows(engine, columns))
        return (c for c in found if any(p.key in parents.get(p.step, ()) for p in c.parents))

    def _reference_columns(self, parents: Mapping[str, set[str]]) -> dict[str, set[str]] | None:
        """{column of this step's table: parent keys to look for}, or None when some lookup is not a column."""
        profile, table = self.mapper.profile, self.kind.table
        columns: dict[str, set[str]] = {}
        if self.mapper.owner in parents:
            if profile.steps[self.mapper.step.name].key != "{key}":
                return None
            columns.setdefault("key", set()).update(parents[self.mapper.owner or ""])
        for spec in profile.steps[self.mapper.step.name].fields.values():
            if spec.lookup is None or spec.lookup.step not in parents:
                continue
            source = spec.source or ""
            plain = bool(source) and "." not in source and spec.convert is None and source in table.c
            if not plain or profile.steps[spec.lookup.step].key != "{key}":
                return None
            columns.setdefault(source, set()).update(parents[spec.lookup.step])
        return columns

    def _referencing_rows(self, engine: Engine, columns: Mapping[str, set[str]]) -> Iterator[Candidate]:
        table, rows, seen = self.kind.table, [], set()
        with engine.connect() as conn:
            for column, keys in columns.items():
                ordered = sorted(keys)
                for start in range(0, len(ordered), 500):
                    query = select(table).where(table.c[column].in_(ordered[start : start + 500]))
                    for row in conn.execute(query):
                        if row.key not in seen:
                            seen.add(row.key)
                            rows.append(row)
        rows.sort(key=lambda r: r.key)
        related = StoreRelated(engine)
        for start in range(0, len(rows), PAGE):
            yield from self._map_rows(engine, rows[start : start + PAGE], related)

    def _map_rows(self, engine: Engine, rows: Sequence[Any], related: StoreRelated) -> Iterator[Candidate]:
        instances = [self.kind.from_row(row) for row in rows]
        related.prefetch(instances, self.needs)
        extra = self._extra_flags(engine, instances)
        for row, instance in zip(rows, instances, strict=True):
            candidate = self.mapper.candidate(instance, related, row.payload_hash, extra.get(row.key, ()))
            if candidate is not None:
                yield candidate

    def _candidates(self, engine: Engine, *, full: bool) -> Iterator[Candidate]:
        related = StoreRelated(engine)
        not_before = _max_updated_at(engine, self._inputs)
        after: str | None = None
        while True:
            with engine.connect() as conn:
                if full:
                    query = select(self.kind.table).order_by(self.kind.table.c.key).limit(PAGE)
                    if after is not None:
                        query = query.where(self.kind.table.c.key > after)
                    rows = list(conn.execute(query).all())
                else:
                    rows = LedgerRepository(conn).stale_records(
                        self.kind,
                        self.mapper.step.name,
                        self.mapper.step.fingerprint,
                        not_before=not_before,
                        after=after,
                        limit=PAGE,
                    )
            if not rows:
                return
            after = rows[-1].key
            yield from self._map_rows(engine, rows, related)

    def _extra_flags(self, engine: Engine, instances: Sequence[BaseModel]) -> dict[str, tuple[str, ...]]:
        """An intake from someone already in the CRM as a participant becomes a Task on them, not a Lead."""
        profile = self.mapper.profile
        if "existing_contact" not in profile.flags or self.kind.model is not IntakeSubmission:
            return {}
        contact_steps = [s for s in profile.order if profile.steps[s].model == "Participant"]
        if not contact_steps:
            return {}
        person_of = {}
        for instance in instances:
            try:
                person_of[str(getattr(instance, "key"))] = participant_key(str(getattr(instance, "email")))  # noqa: B009
            except ValueError:
                continue
        with engine.connect() as conn:
            known = LedgerRepository(conn).crm_ids(contact_steps[0], person_of.values())
        return {key: ("existing_contact",) for key, person in person_of.items() if person in known}


@dataclass
class DerivedSource:
    """Candidates computed from other records; skipped entirely while none of their inputs changed."""

    mapper: _StepMapper
    produce: Callable[[Engine], Iterable[BaseModel]]
    inputs: list[RecordKind]
    needs: set[str]

    def total(self, engine: Engine) -> int | None:
        return None

    def _is_fresh(self, engine: Engine) -> tuple[bool, int]:
        step = self.mapper.step
        fingerprint = step.fingerprint
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    func.count(),
                    func.sum(
                        case(
                            (and_(sync_ledger.c.status == "synced", sync_ledger.c.step_hash == fingerprint), 1), else_=0
                        )
                    ),
                    func.min(sync_ledger.c.synced_at),
                ).where(sync_ledger.c.step == step.name)
            ).one()
        total, fresh, oldest = int(rows[0]), int(rows[1] or 0), rows[2]
        if total == 0 or fresh != total or oldest is None:
            return False, 0
        latest = _max_updated_at(engine, self.inputs)
        return (latest is None or latest <= oldest), total

    def fresh_count(self, engine: Engine) -> int:
        fresh, count = self._is_fresh(engine)
        return count if fresh else 0

    def candidates(self, engine: Engine, *, full: bool) -> Iterator[Candidate]:
        if not full and self._is_fresh(engine)[0]:
            return iter(())
        return self.mapper.dedupe(self._candidates(engine))

    def _candidates(self, engine: Engine) -> Iterator[Candidate]:
        related = StoreRelated(engine)
        batch: list[BaseModel] = []
        for instance in self.produce(engine):
            batch.append(instance)
            if len(batch) >= PAGE:
                yield from self._map(batch, related)
                batch = []
        yield from self._map(batch, related)

    def _map(self, batch: list[BaseModel], related: StoreRelated) -> Iterator[Candidate]:
        related.prefetch(batch, self.needs)
        for instance in batch:
            candidate = self.mapper.candidate(instance, related, canonical_hash(instance))
            if candidate is not None:
                yield candidate


def planned_steps(
    profile: Profile,
    *,
    flags: Iterable[str] = (),
    min_respondents: int,
    org_flags: Callable[[], frozenset[str]] | None = None,
) -> list[PlannedStep]:
    """Every step of the profile in dependency order, each with the source of its candidate rows.

    `min_respondents` is the settings' suppression threshold for the derived cohort outcomes (no default here:
    it comes from Settings through `SyncOptions`).  `org_flags` answers the profile's `detect:` flags from the
    org (see `mappings.detect`); it is called only when a step that depends on them has a row to build, so an
    unchanged resync makes no describe call.
    """
    return _plan(profile, frozenset(flags), org_flags, derived_producers(min_respondents))


def table_steps(profile: Profile, *, flags: Iterable[str] = ()) -> list[PlannedStep]:
    """The profile's steps fed by program tables (each with a `TableSource`), in dependency order.

    Derived steps (summaries, cohort outcomes) are left out, so no suppression threshold is needed: what needs
    only the table steps (`status`'s pending counts) cannot depend on one.
    """
    return _plan(profile, frozenset(flags), None, None)


def _plan(
    profile: Profile,
    active: frozenset[str],
    org_flags: Callable[[], frozenset[str]] | None,
    derived: Mapping[str, tuple[Producer, list[str]]] | None,
) -> list[PlannedStep]:
    """The steps in order; `derived` None leaves the derived steps out."""
    steps: list[PlannedStep] = []
    for name in profile.order:
        spec = profile.steps[name]
        if spec.when is not None and spec.when not in active and spec.when != "existing_contact":
            continue  # switched off for every record (e.g. individual survey answers)
        mapper = _StepMapper(profile, step_def(profile, name), active, org_flags)
        needs = profile.related_needs(spec.model)
        source: TableSource | DerivedSource
        if spec.model in MODEL_KINDS:
            source = TableSource(mapper, MODEL_KINDS[spec.model], needs)
        elif derived is None:
            continue  # a derived step, left out (see `table_steps`)
        elif spec.model in derived:
            produce, inputs = derived[spec.model]
            source = DerivedSource(mapper, produce, [KINDS[k] for k in inputs], needs)
        else:
            raise ValueError(f"profile {profile.name} step {name}: no source of {spec.model} records")
        steps.append(PlannedStep(mapper.step, source))
    return steps
