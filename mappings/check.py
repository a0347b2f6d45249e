"""Checking a profile against describe data: the offline snapshot or a live org.

Everything that would make Salesforce reject a row for schema reasons is found here, before any data moves:
missing objects or fields, fields the sync may not create or update, type and length mismatches, values a
restricted picklist refuses, required fields no step fills, key fields that are not External ID + Unique,
record types and lookups that point nowhere.  Facts the profile marks `unconfirmed`, and facts the generated
describe data marks `x_unconfirmed` (the reference could not confirm them), are listed as notes, so a live
check shows what it settled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mappings.detect import DetectedFlag, detect_flags
from mappings.functions import CONVERTERS, DERIVATIONS
from mappings.profile import Profile
from mappings.registry import resolve_path
from mappings.spec import FieldSpec, StepSpec, UpdatePolicy
from mappings.transform import relationship_name

# Describe data generated from the reference carries this key on a field, object or record type the reference
# could not confirm (mappings/snapshots/reference.py); a real org's describe never has it.
UNCONFIRMED_KEY = "x_unconfirmed"
DescribeSource = Callable[[str], Mapping[str, Any] | None]

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox", "encryptedstring"}
COMPATIBLE: dict[str, set[str]] = {
    "text": TEXT_TYPES,
    "list": {"string", "textarea", "multipicklist"},
    "number": {"double", "currency", "percent", "int"},
    "integer": {"double", "currency", "percent", "int"},
    "boolean": {"boolean"},
    "date": {"date"},
    "datetime": {"datetime"},
    "reference": {"reference"},
}


@dataclass(frozen=True, slots=True)
class CheckProblem:
    step: str
    object: str
    field: str
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"{self.object}.{self.field}" if self.field else self.object
        return f"[{self.kind}] {self.step}: {where}: {self.message}"


@dataclass
class CheckReport:
    profile: str
    source: str
    problems: list[CheckProblem] = field(default_factory=list)
    notes: list[CheckProblem] = field(default_factory=list)
    detected: list[DetectedFlag] = field(default_factory=list)  # how the org is set (state/country picklists…)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ValueShape:
    """What values a field entry can produce, known without any data."""

    kind: str
    max_length: int | None = None
    values: tuple[Any, ...] | None = None


def _kind_of_constant(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "text"


def value_shape(model: str, spec: FieldSpec) -> ValueShape:
    if spec.lookup is not None:
        return ValueShape("reference")
    if spec.origin == "constant":
        shown = None if spec.constant is None else str(spec.constant)
        return ValueShape(
            _kind_of_constant(spec.constant),
            len(shown) if shown is not None else None,
            (spec.constant,) if spec.constant is not None else (),
        )
    kind: str = "text"
    max_length: int | None = None
    values: tuple[Any, ...] | None = None
    if spec.source is not None:
        info = resolve_path(model, spec.source)[1]
        kind, max_length, values = info.kind, info.max_length, info.choices
        if spec.convert is not None:
            kind, max_length, values = CONVERTERS[spec.convert].kind, None, None
    elif spec.derive is not None:
        kind = DERIVATIONS[spec.derive].kind
    if spec.value_map is not None:
        mapped = tuple(dict.fromkeys(v for v in spec.value_map.values() if v is not None))
        kinds = {_kind_of_constant(v) for v in mapped}
        kind = kinds.pop() if len(kinds) == 1 else "text"
        values = mapped
        max_length = max((len(str(v)) for v in mapped), default=0)
    if spec.format == "date":
        kind = "date"
    if spec.max_length is not None:
        max_length = spec.max_length if max_length is None else min(max_length, spec.max_length)
    if kind in ("number", "integer", "boolean", "date", "datetime"):
        max_length = None
    return ValueShape(kind, max_length, values)


def _fields_by_name(describe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["name"]: f for f in describe.get("fields", [])}


def _required(f: Mapping[str, Any]) -> bool:
    return not f.get("nillable", True) and f.get("createable", False) and not f.get("defaultedOnCreate", False)


def describe_source(describes: Mapping[str, Mapping[str, Any]]) -> DescribeSource:
    return lambda name: describes.get(name)


def check_profile(profile: Profile, describe: DescribeSource, *, source: str = "snapshot") -> CheckReport:
    """Every problem of `profile` against the describe data `describe(name)` returns (None = no such object)."""
    report = CheckReport(profile=profile.name, source=source)
    cache: dict[str, Mapping[str, Any] | None] = {}

    def get(name: str) -> Mapping[str, Any] | None:
        if name not in cache:
            cache[name] = describe(name)
        return cache[name]

    report.detected = detect_flags(profile, get)
    active = frozenset(d.flag for d in report.detected if d.on)
    missing_reported: set[str] = set()
    for step_name in profile.order:
        step = profile.steps[step_name]
        d = get(step.object)
        if d is None:
            if step.object not in missing_reported:
                report.problems.append(CheckProblem(step_name, step.object, "", "missing object", "not in the org"))
                missing_reported.add(step.object)
            continue
        _check_step(profile, step_name, step, d, get, report, active)
    for step_name in profile.order:
        step = profile.steps[step_name]
        if step.member_statuses:
            cms = get("CampaignMemberStatus")
            if cms is None or not cms.get("createable", False):
                report.problems.append(
                    CheckProblem(
                        step_name,
                        "CampaignMemberStatus",
                        "",
                        "missing object",
                        "the step declares member statuses, which the sync must be able to create",
                    )
                )
    return report


def _check_step(
    profile: Profile,
    step_name: str,
    step: StepSpec,
    d: Mapping[str, Any],
    get: Callable[[str], Mapping[str, Any] | None],
    report: CheckReport,
    active: frozenset[str] = frozenset(),
) -> None:
    fields = _fields_by_name(d)
    obj = step.object
    creates = step.operation == "upsert"
    if step.unconfirmed:
        report.notes.append(CheckProblem(step_name, obj, "", "unconfirmed", step.note or "object facts unconfirmed"))
    key_field = profile.key_field_of(step_name)
    kf = fields.get(key_field)
    if kf is None:
        report.problems.append(CheckProblem(step_name, obj, key_field, "missing field", "the key field is missing"))
    elif not (kf.get("externalId") and kf.get("unique")):
        report.problems.append(
            CheckProblem(step_name, obj, key_field, "key field", "the key field must be External ID and Unique")
        )
    if d.get(UNCONFIRMED_KEY):
        report.notes.append(CheckProblem(step_name, obj, "", "unconfirmed", str(d[UNCONFIRMED_KEY])))
    if step.record_type is not None:
        infos = {i.get("developerName"): i for i in d.get("recordTypeInfos", []) if i.get("active", True)}
        if step.record_type not in infos:
            message = f"no active record type {step.record_type}" + setup_advice(profile, obj, step.record_type)
            report.problems.append(CheckProblem(step_name, obj, "RecordTypeId", "record type", message))
        elif infos[step.record_type].get(UNCONFIRMED_KEY):
            note = str(infos[step.record_type][UNCONFIRMED_KEY])
            report.notes.append(CheckProblem(step_name, obj, "RecordTypeId", "unconfirmed", note))
    written = {
        name: spec
        for name, spec in step.fields.items()
        if (spec.when is None or spec.when in active) and (spec.unless is None or spec.unless not in active)
    }
    for name, spec in written.items():
        if spec.unconfirmed:
            report.notes.append(
                CheckProblem(step_name, obj, name, "unconfirmed", spec.note or "field facts unconfirmed")
            )
        f = fields.get(name)
        if f is None:
            report.problems.append(CheckProblem(step_name, obj, name, "missing field", "not on the object"))
            continue
        if f.get(UNCONFIRMED_KEY):
            report.notes.append(CheckProblem(step_name, obj, name, "unconfirmed", str(f[UNCONFIRMED_KEY])))
        for problem in _field_problems(profile, step_name, step, name, spec, f, get, creates):
            report.problems.append(problem)
    if creates:
        covered = set(written) | {key_field}
        for name, f in fields.items():
            if _required(f) and name not in covered:
                report.problems.append(
                    CheckProblem(step_name, obj, name, "required", "required on create, but the step does not fill it")
                )


def _field_problems(
    profile: Profile,
    step_name: str,
    step: StepSpec,
    name: str,
    spec: FieldSpec,
    f: Mapping[str, Any],
    get: Callable[[str], Mapping[str, Any] | None],
    creates: bool,
) -> list[CheckProblem]:
    obj = step.object
    out: list[CheckProblem] = []

    def problem(kind: str, message: str) -> None:
        out.append(CheckProblem(step_name, obj, name, kind, message))

    if f.get("calculated"):
        problem("not writable", "computed by the CRM (formula or roll-up); never write it")
        return out
    if creates and not f.get("createable"):
        problem("not createable", "the CRM does not let this field be set on create")
    if (spec.update.sent_on_update or not creates) and not f.get("updateable"):
        problem("not updateable", "the CRM does not let this field change; set `update: create_only`")
    if spec.update is UpdatePolicy.CREATE_ONLY and f.get("updateable"):
        problem(
            "create_only",
            "declared create-only, but the CRM lets it change; use `never` if staff own it after create",
        )
    crm_type = f.get("type", "")
    shape = value_shape(step.model, spec)
    if shape.kind not in COMPATIBLE or crm_type not in COMPATIBLE[shape.kind]:
        problem("type mismatch", f"the profile sends {shape.kind}, the field is {crm_type}")
        return out
    if spec.lookup is not None:
        target = profile.steps[spec.lookup.step].object
        if target not in f.get("referenceTo", []):
            problem("lookup", f"points to {', '.join(f.get('referenceTo', [])) or 'nothing'}, not {target}")
        expected = spec.lookup.relationship or relationship_name(name)
        if f.get("relationshipName") != expected:
            problem("lookup", f"relationship name is {f.get('relationshipName')!r}, the profile sends {expected!r}")
        if len(f.get("referenceTo", [])) > 1 and not spec.lookup.polymorphic:
            problem("lookup", "the field is polymorphic; set `polymorphic: true` so the reference names its type")
        return out
    if spec.overflow == "truncate" and crm_type not in ("string", "textarea", "combobox"):
        problem("truncate", "only free-text fields may be truncated")
    length = f.get("length") or 0
    if crm_type in TEXT_TYPES and crm_type not in ("picklist", "multipicklist") and length:
        if spec.max_length is not None and spec.max_length > length:
            problem("length", f"max_length {spec.max_length} exceeds the field's {length}")
        elif shape.max_length is not None and shape.max_length > length:
            problem("length", f"values up to {shape.max_length} characters; the field holds {length} (set max_length)")
    if crm_type in ("picklist", "multipicklist") and shape.values is not None:
        allowed = {p["value"] for p in f.get("picklistValues", []) if p.get("active", True)}
        bad = [str(v) for v in shape.values if str(v) not in allowed]
        advice = "".join(dict.fromkeys(setup_advice(profile, obj, None, v) for v in bad))
        if bad and f.get("restrictedPicklist"):
            problem("picklist", f"restricted picklist refuses {', '.join(map(repr, bad))}{advice}")
        elif bad and advice:
            # A stage must exist in the org's OpportunityStage set whatever describe says about restriction.
            problem("picklist", f"the org has no value {', '.join(map(repr, bad))}{advice}")
    return out


def setup_advice(profile: Profile, obj: str, record_type: str | None, stage: str | None = None) -> str:
    """What to do when the org lacks a record type or stage that one of the profile's `org_setup` parts ships."""
    for part_name, part in sorted(profile.header.org_setup.items()):
        ships = any(r.object == obj and r.developer_name == record_type for r in part.record_types) or (
            obj == "Opportunity" and any(s.value == stage for s in part.stages)
        )
        if not ships:
            continue
        missing = record_type if stage is None else stage
        settings = [name for name, value in sorted(profile.settings.items()) if value == missing]
        instead = ""
        if settings:
            instead = f", or set {' / '.join(settings)} under settings in the profile to what the org has"
        return (
            f". {part.description} Deploy it with `ignite-sync plugin export --profile {profile.name} "
            f"--with {part_name}` and `sf project deploy start`{instead}"
        )
    return ""
