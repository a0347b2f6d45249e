"""The pure transform: one model instance → the CRM writes a profile makes of it.

`to_crm` reads only its arguments.  Related models (a session's cohort, say) come through a `Related` lookup
the caller provides; `Profile.related_needs(model)` says which ones to fetch, so the engine can read them in
one batch.  An instance that cannot be mapped raises `MappingRejected` naming the record, the field and the
rule for every problem at once; the engine records that as a rejected row, not a failed job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from pydantic import AnyUrl, BaseModel

from mappings.functions import CONVERTERS, DERIVATIONS, MissingRelated, Related
from mappings.profile import Profile
from mappings.registry import REFERENCES, model_name
from mappings.spec import FieldSpec, MemberStatus, StepSpec, UpdatePolicy, template_parts
from models.keys import slug_of
from models.problems import Problem

_MISSING = object()


class MappingRejected(ValueError):
    """This instance cannot be written; `problems` name the record, the field and the rule."""

    def __init__(self, record: str, problems: list[Problem]) -> None:
        self.record = record
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class CrmWrite:
    """One upsert of one CRM record.

    `payload` is JSON-ready and holds the key field and every mapped field; a lookup appears under its
    relationship name as an external-ID reference (`{"Account": {"Ignite_Key__c": "org:flch"}}`), or as
    `{"AccountId": None}` when the model has no value (which clears it).  `field_names` maps each payload key
    to the CRM field's API name (`Account` → `AccountId`) and `policies` says who owns it after creation.
    `record_type` is a RecordType DeveloperName to resolve to `RecordTypeId` (see `record_type_id`).
    Writes are applied in ascending `order`; `(step, key)` identifies a write — two steps may write the same
    CRM record (the summaries add their fields to the organisation's Account).
    """

    step: str
    object_name: str
    key_field: str
    key: str
    payload: dict[str, Any]
    order: int
    depends_on: tuple[str, ...]
    policies: dict[str, UpdatePolicy]
    field_names: dict[str, str]
    source_model: str
    source_key: str
    operation: str = "upsert"
    record_type: str | None = None
    member_statuses: tuple[MemberStatus, ...] = ()
    warnings: tuple[Problem, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the golden files store this)."""
        return {
            "step": self.step,
            "object": self.object_name,
            "key_field": self.key_field,
            "key": self.key,
            "operation": self.operation,
            "order": self.order,
            "depends_on": list(self.depends_on),
            "record_type": self.record_type,
            "payload": self.payload,
            "policies": {k: v.value for k, v in self.policies.items() if v is not UpdatePolicy.ALWAYS},
            "member_statuses": [s.model_dump() for s in self.member_statuses],
            "warnings": [str(w) for w in self.warnings],
        }


def relationship_name(field_name: str) -> str:
    """`Account__c` → `Account__r`; `AccountId` → `Account` (Salesforce's own naming)."""
    if field_name.endswith("__c"):
        return field_name[:-3] + "__r"
    if field_name.endswith("Id") and len(field_name) > 2:
        return field_name[:-2]
    raise ValueError(f"{field_name} does not look like a lookup field (ends in Id or __c)")


def salesforce_datetime(value: datetime) -> str:
    """UTC, millisecond precision, `+0000` offset: the form Salesforce itself returns, so reads compare equal."""
    if value.tzinfo is None:
        raise ValueError("a datetime without a time zone cannot be sent (UTC is required)")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def json_value(value: Any) -> Any:
    """A model value as the CRM's JSON expects it."""
    if value is None or isinstance(value, (bool, int, str)):  # a tuple: faster than a union
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        as_float = float(value)
        if Decimal(repr(as_float)) != value:
            raise ValueError(f"{value} has more digits than the CRM's JSON number can carry exactly")
        return as_float
    if isinstance(value, datetime):
        return salesforce_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, AnyUrl):
        return str(value)
    if isinstance(value, tuple | list):
        return "; ".join(str(json_value(v)) for v in value) or None
    raise TypeError(f"cannot send a {type(value).__name__} to the CRM")


class _Resolver:
    def __init__(self, instance: BaseModel, related: Related | None) -> None:
        self.instance = instance
        self.model = model_name(instance)
        self.related = related

    def path(self, path: str) -> Any:
        if "." not in path:
            return getattr(self.instance, path)
        current: BaseModel = self.instance
        current_model = self.model
        parts = path.split(".")
        for part in parts[:-1]:
            key = getattr(current, part)
            if key is None:
                return None
            target = REFERENCES[(current_model, part)]
            found = self.related.get(target, key) if self.related is not None else None
            if found is None:
                raise MissingRelated(target, key)
            current, current_model = found, target
        return getattr(current, parts[-1])

    def template(self, template: str) -> str:
        result = template
        for path, filter_name, placeholder in _placeholders(template):
            value = self.path(path)
            if value is None:
                raise ValueError(f"{path} is empty, and the template {template!r} needs it")
            text = str(json_value(value))
            if filter_name == "slug":
                text = slug_of(text) if ":" in text else text
            result = result.replace(placeholder, text)
        return result


@cache
def _placeholders(template: str) -> tuple[tuple[str, str | None, str], ...]:
    """(path, filter, placeholder text) of a template, parsed once per template (a profile has a few dozen)."""
    return tuple(
        (path, filter_name, "{" + path + (f"|{filter_name}" if filter_name else "") + "}")
        for path, filter_name in template_parts(template)
    )


def _field_value(resolver: _Resolver, spec: FieldSpec) -> Any:
    if spec.source is not None:
        value = resolver.path(spec.source)
        if spec.convert is not None:
            value = CONVERTERS[spec.convert].fn(value)
    elif spec.template is not None:
        value = resolver.template(spec.template)
    elif spec.derive is not None:
        value = DERIVATIONS[spec.derive].fn(resolver.instance, resolver.related)
    else:
        return spec.constant
    if spec.value_map is not None and value is not None:
        lookup = value.value if isinstance(value, Enum) else value
        mapped = spec.value_map.get(str(lookup).lower() if isinstance(lookup, bool) else str(lookup), _MISSING)
        if mapped is _MISSING:
            raise ValueError(f"value {lookup!r} has no entry in the profile's value_map")
        value = mapped
    if spec.format == "date" and isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return json_value(value)


def _field_applies(spec: FieldSpec, active: frozenset[str]) -> bool:
    """A field with `when`/`unless` is written only under (or only without) that flag, e.g. the state code
    fields only in orgs with State and Country/Territory Picklists."""
    return (spec.when is None or spec.when in active) and (spec.unless is None or spec.unless not in active)


# {id(profile): (the profile, {step: (key field, position, dependencies)})}: what every write of a step shares,
# worked out once per profile.  The profile is held, so its id cannot be reused while its entry exists.
_FACTS: dict[int, tuple[Profile, dict[str, tuple[str, int, tuple[str, ...]]]]] = {}


def _step_facts(profile: Profile, step_name: str) -> tuple[str, int, tuple[str, ...]]:
    held = _FACTS.get(id(profile))
    if held is None or held[0] is not profile:
        if len(_FACTS) >= 16:  # tests load many profiles; a sync uses one
            _FACTS.clear()
        held = _FACTS[id(profile)] = (profile, {})
    facts = held[1].get(step_name)
    if facts is None:
        facts = held[1][step_name] = (
            profile.key_field_of(step_name),
            profile.position(step_name),
            profile.dependencies(step_name),
        )
    return facts


def _step_writes(
    profile: Profile,
    step_name: str,
    step: StepSpec,
    resolver: _Resolver,
    source_key: str,
    active: frozenset[str] = frozenset(),
) -> tuple[CrmWrite | None, list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    key_field, order, depends_on = _step_facts(profile, step_name)
    try:
        key = resolver.template(step.key)
    except (ValueError, MissingRelated) as exc:
        return None, [Problem(source_key, f"{step_name}.key", str(exc))]
    if len(key) > 80:
        problems.append(Problem(source_key, f"{step_name}.key", f"key {key!r} is longer than 80 characters"))
    payload: dict[str, Any] = {key_field: key}
    policies: dict[str, UpdatePolicy] = {key_field: UpdatePolicy.ALWAYS}
    field_names: dict[str, str] = {key_field: key_field}
    for name, spec in step.fields.items():
        if (spec.when is not None or spec.unless is not None) and not _field_applies(spec, active):
            continue
        try:
            value = _field_value(resolver, spec)
        except (ValueError, TypeError, MissingRelated) as exc:
            problems.append(Problem(source_key, f"{step.object}.{name}", str(exc)))
            continue
        if spec.lookup is not None:
            if value is None:
                payload[name] = None
                policies[name], field_names[name] = spec.update, name
                continue
            target = profile.steps[spec.lookup.step]
            reference: dict[str, Any] = {}
            if spec.lookup.polymorphic:
                reference["attributes"] = {"type": target.object}
            reference[profile.key_field_of(spec.lookup.step)] = value
            rel = spec.lookup.relationship or relationship_name(name)
            payload[rel] = reference
            policies[rel], field_names[rel] = spec.update, name
            continue
        if isinstance(value, str) and spec.max_length is not None and len(value) > spec.max_length:
            if spec.overflow == "truncate":
                warnings.append(
                    Problem(
                        source_key,
                        f"{step.object}.{name}",
                        f"truncated from {len(value)} to {spec.max_length} characters",
                    )
                )
                value = value[: spec.max_length]
            else:
                problems.append(
                    Problem(
                        source_key,
                        f"{step.object}.{name}",
                        f"is {len(value)} characters; the CRM field holds at most {spec.max_length}",
                    )
                )
                continue
        payload[name] = value
        policies[name], field_names[name] = spec.update, name
    if problems:
        return None, problems
    write = CrmWrite(
        step=step_name,
        object_name=step.object,
        key_field=key_field,
        key=key,
        payload=payload,
        order=order,
        depends_on=depends_on,
        policies=policies,
        field_names=field_names,
        source_model=resolver.model,
        source_key=source_key,
        operation=step.operation,
        record_type=step.record_type,
        member_statuses=step.member_statuses,
        warnings=tuple(warnings),
    )
    return write, []


def _active_flags(profile: Profile, flags: Iterable[str]) -> frozenset[str]:
    active = frozenset(flags)
    unknown = active - profile.header.flags.keys()
    if unknown:
        raise ValueError(f"unknown flags for profile {profile.name}: {', '.join(sorted(unknown))}")
    return active


def _build(
    profile: Profile, step_name: str, resolver: _Resolver, source_key: str, active: frozenset[str]
) -> tuple[CrmWrite | None, list[Problem]]:
    """One step's write of the resolver's instance, or its problems; (None, []) when a flag (`when`/`unless`)
    or `skip_when` leaves the step out for this instance."""
    step = profile.steps[step_name]
    if (step.when is not None and step.when not in active) or (step.unless is not None and step.unless in active):
        return None, []
    if step.skip_when is not None and resolver.path(step.skip_when) is True:
        return None, []
    return _step_writes(profile, step_name, step, resolver, source_key, active)


def to_crm(
    instance: BaseModel,
    profile: Profile,
    *,
    related: Related | None = None,
    flags: Iterable[str] = (),
) -> list[CrmWrite]:
    """Every CRM write the profile makes of `instance`, in dependency order (possibly none).

    `flags` switches optional steps on (`when:`) or off (`unless:`); the profile declares its flags, e.g.
    `individual_responses` (from IGNITE_CRM_INDIVIDUAL_RESPONSES) or `existing_contact`.
    """
    active = _active_flags(profile, flags)
    resolver = _Resolver(instance, related)
    source_key = str(getattr(instance, "key", "?"))
    writes: list[CrmWrite] = []
    problems: list[Problem] = []
    for step_name in profile.steps_for(resolver.model):
        write, step_problems = _build(profile, step_name, resolver, source_key, active)
        problems += step_problems
        if write is not None:
            writes.append(write)
    if problems:
        raise MappingRejected(source_key, problems)
    return writes


def step_write(
    instance: BaseModel,
    profile: Profile,
    step: str,
    *,
    related: Related | None = None,
    flags: Iterable[str] = (),
) -> CrmWrite | None:
    """The one write step `step` makes of `instance` (what `to_crm` returns for that step, built alone).

    None when the step maps another model or a flag or `skip_when` leaves it out; `MappingRejected` names
    this step's problems only.  The sync builds one step at a time, so it builds no other step's write.
    """
    active = _active_flags(profile, flags)
    resolver = _Resolver(instance, related)
    if profile.steps[step].model != resolver.model:
        return None
    source_key = str(getattr(instance, "key", "?"))
    write, problems = _build(profile, step, resolver, source_key, active)
    if problems:
        raise MappingRejected(source_key, problems)
    return write


class RelatedRecords:
    """An in-memory `Related`: models indexed by registry name and key (tests, demos, small batches)."""

    def __init__(self, records: Iterable[BaseModel] = ()) -> None:
        self._by_key: dict[tuple[str, str], BaseModel] = {}
        for record in records:
            self.add(record)

    def add(self, record: BaseModel) -> None:
        self._by_key[(model_name(record), str(getattr(record, "key")))] = record  # noqa: B009

    def get(self, model: str, key: str) -> BaseModel | None:
        return self._by_key.get((model, key))


def merge_writes(writes: Iterable[CrmWrite]) -> list[CrmWrite]:
    """Sorted by order, identical repeats dropped (several outcomes share one indicator assignment).

    Two writes of the same step and key with different payloads are a profile bug and raise ValueError.
    """
    seen: dict[tuple[str, str], CrmWrite] = {}
    for write in writes:
        ident = (write.step, write.key)
        earlier = seen.get(ident)
        if earlier is None:
            seen[ident] = write
        elif earlier.payload != write.payload:
            raise ValueError(f"step {write.step} maps key {write.key} to two different payloads")
    return sorted(seen.values(), key=lambda w: w.order)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def fields_to_read(write: CrmWrite) -> tuple[str, ...]:
    """CRM fields whose current value decides what an update sends (the `if_blank` ones)."""
    return tuple(sorted(write.field_names[k] for k, p in write.policies.items() if p is UpdatePolicy.IF_BLANK))


def update_payload(write: CrmWrite, existing: Mapping[str, Any] | None) -> dict[str, Any]:
    """What to send, honouring field ownership.

    `existing` is the CRM record as read (API field names → values) or None when it does not exist yet, in
    which case everything is sent.  On update, `never` and `create_only` fields are left alone and `if_blank`
    fields are sent only where the CRM's value is blank.  The key field is always sent (the upsert needs it).
    """
    if existing is None:
        return dict(write.payload)
    result: dict[str, Any] = {}
    for name, value in write.payload.items():
        policy = write.policies.get(name, UpdatePolicy.ALWAYS)
        if not policy.sent_on_update and name != write.key_field:
            continue
        if policy is UpdatePolicy.IF_BLANK and not _blank(existing.get(write.field_names[name])):
            continue
        result[name] = value
    return result


def record_type_id(describe: Mapping[str, Any], developer_name: str) -> str:
    """The RecordTypeId for a DeveloperName, from the object's describe (no query needed)."""
    for info in describe.get("recordTypeInfos", []):
        if info.get("developerName") == developer_name and info.get("active", True):
            return str(info["recordTypeId"])
    raise LookupError(f"{describe.get('name')} has no active record type {developer_name!r}")
