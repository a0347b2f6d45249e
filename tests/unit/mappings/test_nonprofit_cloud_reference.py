"""The nonprofit_cloud profile against Salesforce's own object reference, not against our hand-typed facts.

`check-mapping` and the local CRM judge a profile by `mappings/snapshots/facts.py`; where a fact there is wrong,
every check agrees with the mistake.  These tests read the reference itself (`nonprofit_cloud.json` in the shared
reference metadata: createable, updateable, nillable, required-on-create and create-only per field, types,
lengths, picklist values), so a profile a real org would refuse fails here even while the facts are lenient.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from mappings.check import COMPATIBLE, TEXT_TYPES, value_shape
from mappings.profile import Profile, load_profile
from mappings.spec import FieldSpec, StepSpec, UpdatePolicy

REFERENCE_NAME = "nonprofit_cloud.json"


def _reference_path() -> Path:
    """The repo's unchanged copy of the reference (the drift test holds it to the shared original)."""
    return Path(__file__).resolve().parents[3] / "mappings" / "snapshots" / "sources" / REFERENCE_NAME


@cache
def reference_objects() -> dict[str, Any]:
    path = _reference_path()
    objects: dict[str, Any] = json.loads(path.read_text())["objects"]
    return objects


PROFILE = load_profile("nonprofit_cloud")
# A describe type as the reference spells it → the describe type check-mapping compares against.
_TYPE = {"dateTime": "datetime"}


def written_steps(profile: Profile) -> list[tuple[str, StepSpec, dict[str, Any]]]:
    """(step name, step, reference object) for every step that writes a Nonprofit Cloud object."""
    objects = reference_objects()
    return [(name, step, objects[step.object]) for name, step in profile.steps.items() if step.object in objects]


def standard_fields(step: StepSpec) -> dict[str, FieldSpec]:
    """The step's fields that the reference describes (the plugin's `__c` fields are ours, checked elsewhere)."""
    return {name: spec for name, spec in step.fields.items() if not name.endswith("__c")}


def _problems(profile: Profile) -> list[str]:
    problems: list[str] = []
    api_version = float(profile.header.api_version)
    for step_name, step, ref in written_steps(profile):
        fields: dict[str, Any] = ref["fields"]
        where = f"{step_name} ({step.object})"
        if step.operation == "upsert":
            missing = [n for n, f in fields.items() if f.get("requiredOnCreate") and n not in step.fields]
            problems += [f"{where}: required {n} is not set" for n in missing]
        for name, spec in standard_fields(step).items():
            f = fields.get(name)
            if f is None:
                problems.append(f"{where}: {name} is not a field of {step.object}")
                continue
            problems += [f"{where}: {name}: {p}" for p in _field_problems(step, spec, f, api_version)]
    return problems


def _field_problems(step: StepSpec, spec: FieldSpec, f: dict[str, Any], api_version: float) -> list[str]:
    out: list[str] = []
    since = f.get("availableFromApiVersion")
    if since is not None and float(since) > api_version:
        out.append(f"only from API {since}, the profile speaks {api_version}")
    if not f.get("createable"):
        out.append("not createable (auto-number or calculated): never write it")
        return out
    if f.get("createOnly") and spec.update not in (UpdatePolicy.CREATE_ONLY, UpdatePolicy.NEVER):
        out.append(f"create-only, but the profile updates it (update: {spec.update.value})")
    crm_type = f.get("describeType") or _TYPE.get(f.get("type", ""), f.get("type", ""))
    shape = value_shape(step.model, spec)
    if spec.lookup is not None:
        target = PROFILE.steps[spec.lookup.step].object
        if target not in f.get("referenceTo", []):
            out.append(f"points to {f.get('referenceTo')}, not {target}")
        return out
    if crm_type not in COMPATIBLE.get(shape.kind, set()):
        out.append(f"the profile sends {shape.kind}, the field is {crm_type}")
    length = f.get("length")
    if length and crm_type in TEXT_TYPES and crm_type not in ("picklist", "multipicklist"):
        longest = spec.max_length if spec.max_length is not None else shape.max_length
        if longest is None or longest > length:
            out.append(f"values up to {longest or 'any'} characters; the field holds {length}")
    if crm_type == "picklist" and shape.values is not None:
        allowed = f.get("picklistValues") or []
        if not allowed:
            if not (spec.unconfirmed and spec.note):
                out.append("no values ship with this picklist: mark the org-defined value unconfirmed, with a note")
        else:
            bad = [v for v in shape.values if v is not None and str(v) not in allowed]
            if bad:
                out.append(f"{', '.join(map(repr, bad))} not among {allowed}")
    return out


def test_every_nonprofit_cloud_step_writes_only_what_the_object_reference_allows() -> None:
    assert _problems(PROFILE) == []


def test_every_create_only_field_the_profile_writes_is_declared_create_only() -> None:
    """Master-detail parents and Denominator: declared as the CRM fact, not left to `never` by chance."""
    loose = [
        f"{step_name}.{name}"
        for step_name, step, ref in written_steps(PROFILE)
        for name, spec in standard_fields(step).items()
        if ref["fields"].get(name, {}).get("createOnly") and spec.update is not UpdatePolicy.CREATE_ONLY
    ]
    assert loose == []


def test_the_objects_required_writes_depend_on_are_created_by_the_profile() -> None:
    """Sessions need a BenefitSchedule, performance periods a TimePeriod, definitions a UnitOfMeasure."""
    written = {step.object for step in PROFILE.steps.values()}
    assert {"BenefitSchedule", "TimePeriod", "UnitOfMeasure"} <= written
    session = PROFILE.steps["session"]
    lookup = session.fields["BenefitScheduleId"].lookup
    assert lookup is not None and PROFILE.steps[lookup.step].object == "BenefitSchedule"
    assert PROFILE.steps[lookup.step].key == "benefitschedule:{key|slug}"


def test_the_checker_catches_what_the_old_profile_got_wrong() -> None:
    """The reference check is not vacuous: a profile writing BenefitSession.BenefitId, an auto-number Name and
    an updated Denominator is refused, each named."""
    raw = PROFILE.steps
    broken_session = raw["session"].model_copy(
        update={"fields": {**raw["session"].fields, "BenefitId": FieldSpec(template="benefit:{cohort|slug}")}}
    )
    result = raw["outcome_result"]
    broken_result = result.model_copy(
        update={
            "fields": {
                **result.fields,
                "Name": FieldSpec(template="{cohort.name}"),
                "Denominator": FieldSpec(source="respondents"),
            }
        }
    )
    broken = replace(PROFILE, steps={**raw, "session": broken_session, "outcome_result": broken_result})
    problems = "\n".join(_problems(broken))
    assert "session (BenefitSession): BenefitId is not a field of BenefitSession" in problems
    assert "outcome_result (IndicatorResult): Name: not createable" in problems
    assert "outcome_result (IndicatorResult): Denominator: create-only" in problems
