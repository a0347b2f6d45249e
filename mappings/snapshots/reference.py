"""The build step that turns the reference metadata into org facts: `python -m mappings.snapshots.reference`.

It reads the files under `sources/` (copied unchanged from ../shared/reference/metadata/, whose README there is
kept alongside as provenance, plus `iso3166.json` for the state and country lists) and writes `org_facts.json`:
describe JSON for every packaged object (PMM's eight objects, NPSP's two, the sixteen Nonprofit Cloud objects),
the package fields NPSP and PMM add to standard objects, the standard-field overlay from standard.json with the
State and Country/Territory picklist fields, NPSP's record types with the stages of their business processes,
PMM's validation rules and a list of everything the reference marks unconfirmed.  `facts.py` only loads that
file, so a wrong fact can only come from a wrong source; `tests/unit/mappings/test_org_facts_drift.py`
regenerates it in memory and fails on any difference.

Nothing here is typed from memory except what the reference does not hold, each one named where it is set:
key prefixes (per org in reality; placeholders that only need to be distinct) and the fake record type Ids.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mappings.snapshots.shape import (
    Describe,
    auto_name,
    custom_name,
    default_label,
    field,
    record_type_infos,
    sobject,
)

SOURCES = Path(__file__).resolve().parent / "sources"
GENERATED = Path(__file__).resolve().parent / "org_facts.json"
SOURCE_FILES = ("pmm.json", "npsp.json", "nonprofit_cloud.json", "standard.json", "iso3166.json")
# The profiles speak API 62.0: a field the documentation dates later is not in a 62.0 describe.
API_VERSION = 62.0
SYSTEM_FIELDS = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}
)
# Key prefixes are not in the reference (managed-package and NPC prefixes differ per org); placeholders.
KEY_PREFIXES = {
    "pmdm__Program__c": "a0A",
    "pmdm__ProgramCohort__c": "a0B",
    "pmdm__ProgramEngagement__c": "a0C",
    "pmdm__Service__c": "a0D",
    "pmdm__ServiceSchedule__c": "a0E",
    "pmdm__ServiceSession__c": "a0F",
    "pmdm__ServiceParticipant__c": "a0G",
    "pmdm__ServiceDelivery__c": "a0H",
    "npe5__Affiliation__c": "a0J",
    "npsp__Grant_Deadline__c": "a0K",
    "Program": "1pR",
    "ProgramCohort": "1pC",
    "ProgramEnrollment": "1pE",
    "ProgramCohortMember": "1pM",
    "BenefitType": "1bT",
    "Benefit": "1bB",
    "BenefitSchedule": "1bH",
    "BenefitSession": "1bS",
    "BenefitAssignment": "1bA",
    "BenefitDisbursement": "1bD",
    "IndicatorDefinition": "1iD",
    "IndicatorAssignment": "1iA",
    "IndicatorPerformancePeriod": "1iP",
    "IndicatorResult": "1iR",
    "TimePeriod": "1tP",
    "UnitOfMeasure": "1uM",
}
# Record type Ids differ per org; fixed fakes keep snapshots stable (Master is shape.MASTER_RECORD_TYPE).
RECORD_TYPE_IDS = {
    ("Account", "HH_Account"): "012000000000001AAA",
    ("Account", "Organization"): "012000000000002AAA",
    ("Opportunity", "Donation"): "012000000000003AAA",
    ("Opportunity", "Grant"): "012000000000004AAA",
    ("Opportunity", "InKindGift"): "012000000000005AAA",
    ("Opportunity", "MajorGift"): "012000000000006AAA",
    ("Opportunity", "MatchingGift"): "012000000000007AAA",
    ("Opportunity", "Membership"): "012000000000008AAA",
    ("Opportunity", "NPSP_Default"): "012000000000009AAA",
}
PACKAGE_TYPES = {"MasterDetail": "reference", "Lookup": "reference", "Html": "textarea", "AutoNumber": "string"}
UNCONFIRMED = re.compile(r"unconfirmed", re.IGNORECASE)
UNCONFIRMED_KEY = "x_unconfirmed"


def read_sources(folder: Path = SOURCES) -> dict[str, Any]:
    return {name: json.loads((folder / name).read_text("utf-8")) for name in SOURCE_FILES}


# --- package metadata (PMM, NPSP): field-meta.xml facts -----------------------------------------------------


def package_field(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One describe field from a package's field metadata (type, required, picklist, lookup, formula...)."""
    name = str(raw["apiName"])
    mtype = str(raw["type"])
    kwargs: dict[str, Any] = {
        "length": raw.get("length"),
        "precision": raw.get("precision"),
        "scale": raw.get("scale"),
        "required": bool(raw.get("required")) or mtype == "MasterDetail",
        "create": bool(raw.get("createable", True)),
        "update": bool(raw.get("updateable", True)),
        "external": bool(raw.get("externalId")),
        "unique": bool(raw.get("unique")),
        "case_sensitive": bool(raw.get("caseSensitive")),
        "formula": "formula" in raw or "summary" in raw,
    }
    default = raw.get("defaultValue")
    if mtype == "Checkbox":
        kwargs["default"] = str(default).lower() == "true"
    elif default is not None:
        kwargs["defaulted"] = True
    picklist = raw.get("picklist")
    if picklist:
        values = picklist.get("values") or []
        kwargs["values"] = [str(v["value"]) for v in values]
        kwargs["value_labels"] = {str(v["value"]): str(v.get("label", v["value"])) for v in values}
        kwargs["restricted"] = bool(picklist.get("restricted"))
        kwargs["picklist_default"] = picklist.get("defaultValue") or next(
            (str(v["value"]) for v in values if v.get("default")), None
        )
    if raw.get("referenceTo"):
        kwargs["ref"] = list(raw["referenceTo"])
        kwargs["rel"] = raw.get("parentRelationshipName")
        kwargs["child"] = raw.get("childRelationshipName")
        kwargs["restrict_delete"] = raw.get("deleteConstraint") == "Restrict"
        kwargs["cascade_delete"] = mtype == "MasterDetail"
    ftype = "double" if mtype == "Summary" else PACKAGE_TYPES.get(mtype, mtype)
    given = {k: v for k, v in kwargs.items() if v is not None}
    return field(name, ftype, str(raw.get("label") or default_label(name)), **given)


def _name_field(obj: Mapping[str, Any]) -> dict[str, Any]:
    spec = obj.get("nameField") or {}
    label = str(spec.get("label") or f"{obj.get('label', '')} Name").strip()
    return auto_name(label) if spec.get("type") == "AutoNumber" else custom_name(label)


def package_objects(source: Mapping[str, Any]) -> dict[str, Describe]:
    """Custom objects a package installs (those with a label), as describes, with their validation rules."""
    result: dict[str, Describe] = {}
    for name, obj in sorted(source["objects"].items()):
        if "label" not in obj:
            continue  # standard objects the package only adds fields to
        fields = [_name_field(obj)] + [
            package_field(raw) for fname, raw in sorted(obj["fields"].items()) if fname != "Name"
        ]
        describe = sobject(name, str(obj["label"]), str(obj["pluralLabel"]), KEY_PREFIXES[name], fields)
        rules = validation_rules(obj)
        if rules:
            describe["x_validationRules"] = rules
        result[name] = describe
    return result


def validation_rules(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rules as the local CRM needs them: name, active, message, display field (None: top of the page)."""
    rules = []
    for rule_name, rule in sorted((obj.get("validationRules") or {}).items()):
        display = str(rule.get("errorDisplayField") or "")
        rules.append(
            {
                "name": rule_name,
                "active": bool(rule.get("active")),
                "errorMessage": str(rule["errorMessage"]),
                "errorDisplayField": None if display.startswith("(none") or not display else display,
                "errorConditionFormula": str(rule.get("errorConditionFormula", "")),
            }
        )
    return rules


def package_fields_on(source: Mapping[str, Any], objects: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Fields a package adds to standard objects (NPSP on Account/Contact/..., PMM on Contact)."""
    return {
        name: [package_field(raw) for _, raw in sorted(source["objects"][name]["fields"].items())]
        for name in objects
        if name in source["objects"]
    }


# --- documentation-based facts (Nonprofit Cloud) ------------------------------------------------------------


def doc_field(name: str, raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """One describe field from the documentation's properties, or None when a 62.0 describe would not list it:
    fields only the Field Reference names ("may not exist in a Nonprofit Cloud org") and fields added later."""
    if "type" not in raw:
        return None
    since = raw.get("availableFromApiVersion")
    if since is not None and float(since) > API_VERSION:
        return None
    ftype = str(raw.get("describeType") or raw["type"]).lower()
    create, update = bool(raw["createable"]), bool(raw["updateable"])
    values = [str(v) for v in raw.get("picklistValues") or []]
    described = field(
        name,
        ftype,
        str(raw.get("label") or default_label(name)),
        length=raw.get("length"),
        precision=raw.get("precision"),
        scale=raw.get("scale"),
        # The docs call some Nillable fields "Required." and the server refuses a save without them.
        required=not raw["nillable"] or bool(raw.get("docSaysRequired")),
        create=create,
        update=update,
        defaulted=bool(raw.get("defaultedOnCreate")),
        ref=list(raw.get("referenceTo") or []) or None,
        rel=raw.get("relationshipName"),
        values=values,
        value_labels=raw.get("picklistLabels"),
        picklist_default=raw.get("picklistDefault"),
        restricted=bool(raw.get("restrictedPicklist")),
        formula=bool(raw.get("calculated")) and not create and not update,
        id_lookup=bool(raw.get("idLookup")),
        auto_number=bool(raw.get("autoNumber")),
        name_field=name == "Name",
        cascade_delete=raw.get("relationshipType") == "Master-Detail",
    )
    if raw.get("digits") is not None:
        described["digits"] = int(raw["digits"])
    notes = [str(raw[k]) for k in ("note", "picklistNote", "requiredNote") if raw.get(k)]
    unconfirmed = [n for n in notes if UNCONFIRMED.search(n)]
    if unconfirmed:
        described[UNCONFIRMED_KEY] = " ".join(unconfirmed)
    return described


def _plural(label: str) -> str:
    return label[:-1] + "ies" if label.endswith("y") else label + "s"


def doc_objects(source: Mapping[str, Any]) -> tuple[dict[str, Describe], list[str]]:
    """Describes of the documented objects, and the fields left out (with why)."""
    result: dict[str, Describe] = {}
    left_out: list[str] = []
    for name, obj in sorted(source["objects"].items()):
        fields = []
        owner = "OwnerId" in obj["fields"]
        for fname, raw in sorted(obj["fields"].items()):
            if fname in SYSTEM_FIELDS or fname == "OwnerId":
                continue
            described = doc_field(fname, raw)
            if described is None:
                why = raw.get("note") or f"available from API {raw.get('availableFromApiVersion')}"
                left_out.append(f"{name}.{fname}: {why}")
                continue
            fields.append(described)
        label = default_label(name)
        describe = sobject(name, label, _plural(label), KEY_PREFIXES[name], fields, owner=owner)
        gap = obj.get("docGap")
        if gap:
            describe[UNCONFIRMED_KEY] = str(gap)
        result[name] = describe
    return result, left_out


# --- standard objects: lengths and State and Country/Territory picklists -----------------------------------

ADDRESS_PREFIXES = {"Account": ("Billing", "Shipping"), "Contact": ("Mailing", "Other"), "Lead": ("",)}


def standard_fields(standard: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Type, label and length of the standard fields standard.json lists, per object (an overlay: required
    flags and picklist values of standard fields are not in the reference and stay with facts.py)."""
    result: dict[str, list[dict[str, Any]]] = {}
    for obj, spec in sorted(standard["objects"].items()):
        overlay = []
        for name, raw in sorted((spec.get("fields") or {}).items()):
            if "describeType" not in raw:
                continue
            entry: dict[str, Any] = {"name": name, "type": raw["describeType"], "label": raw.get("label", name)}
            for key in ("length", "precision", "scale"):
                if key in raw:
                    entry[key] = raw[key]
            overlay.append(entry)
        result[obj] = overlay
    return result


def valid_for(indexes: Sequence[int]) -> str:
    """Salesforce's `validFor`: a base64 bitmap, bit i (most significant first) set when controller value i
    (in the controlling picklist's order) allows this value."""
    size = max(indexes, default=0) // 8 + 1
    bits = bytearray(size)
    for i in indexes:
        bits[i // 8] |= 0x80 >> (i % 8)
    return base64.b64encode(bytes(bits)).decode("ascii")


def address_picklist_fields(standard: Mapping[str, Any], iso: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The *StateCode / *CountryCode picklists an org with State and Country/Territory Picklists has: country
    codes with their names as labels, state codes dependent on the country code (validFor)."""
    picklists = standard["stateAndCountryPicklists"]
    note = str(picklists["defaultForNewOrgs"]["fact"])
    countries = list(iso["countries"])
    index = {c["code"]: i for i, c in enumerate(countries)}
    result: dict[str, list[dict[str, Any]]] = {}
    for obj, names in sorted(picklists["fieldsWhenEnabled"].items()):
        if obj not in ADDRESS_PREFIXES:
            continue
        fields = []
        for prefix in ADDRESS_PREFIXES[obj]:
            country_name, state_name = f"{prefix}CountryCode", f"{prefix}StateCode"
            if country_name not in names or state_name not in names:
                raise ValueError(f"standard.json no longer lists {obj}.{state_name}/{country_name}")
            where = f"{prefix} " if prefix else ""
            country = field(
                country_name,
                "picklist",
                f"{where}Country Code",
                values=[c["code"] for c in countries],
                value_labels={c["code"]: c["name"] for c in countries},
                restricted=True,
            )
            state = field(
                state_name,
                "picklist",
                f"{where}State/Province Code",
                values=[],
                restricted=True,
            )
            state["dependentPicklist"] = True
            state["controllerName"] = country_name
            state["picklistValues"] = [
                {
                    "value": s["code"],
                    "label": s["name"],
                    "active": True,
                    "defaultValue": False,
                    "validFor": valid_for([index[cc]]),
                }
                for cc, states in sorted(iso["states"].items())
                for s in states
            ]
            for f in (country, state):
                f[UNCONFIRMED_KEY] = note
            fields += [country, state]
        result[obj] = fields
    return result


# --- NPSP record types and business processes ----------------------------------------------------------------


def npsp_record_types(npsp: Mapping[str, Any]) -> dict[str, Any]:
    """Account record types from NPSP's installer; Opportunity record types from its trial configuration
    (Grant and the others ship only there, so they are marked unconfirmed: a standard install has only
    NPSP_Default) plus NPSP_Default, each with the stages its business process allows (`x_stages`)."""
    account = npsp["recordTypes"]["Account"]
    opportunity = npsp["recordTypes"]["Opportunity"]
    trial = opportunity["trialConfig"]
    standard = opportunity["standardInstall"]["referenceDefinition"]
    types: dict[str, list[dict[str, Any]]] = {}
    types["Account"] = record_type_infos(
        [
            (dev, str(rt["label"]), RECORD_TYPE_IDS[("Account", dev)])
            for dev, rt in sorted(account["recordTypes"].items())
        ],
        default="Organization",
    )
    chosen = {dev: (rt, trial) for dev, rt in trial["recordTypes"].items()}
    chosen.update({dev: (rt, standard) for dev, rt in standard["recordTypes"].items()})
    infos = record_type_infos(
        [(dev, str(rt["label"]), RECORD_TYPE_IDS[("Opportunity", dev)]) for dev, (rt, _) in sorted(chosen.items())],
        default="NPSP_Default",
    )
    trial_source = str(trial["source"])
    for info in infos:
        if info["master"]:
            continue
        rt, config = chosen[info["developerName"]]
        process = config["businessProcesses"][rt["businessProcess"]]
        info["x_stages"] = list(process["stages"])
        if config is trial:
            info[UNCONFIRMED_KEY] = (
                f"Ships only with NPSP's trial configuration ({trial_source}), not with a standard install: "
                "deploy it (with its business process) or the org lacks it."
            )
    types["Opportunity"] = infos
    stage_order = [str(v["value"]) for v in npsp["standardValueSets"]["OpportunityStage"]["trialConfig"]["values"]]
    stages = stage_order + sorted({s for info in infos for s in info.get("x_stages", [])} - set(stage_order))
    return {"recordTypes": types, "opportunityStages": stages}


# --- the whole file -------------------------------------------------------------------------------------------


def build_org_facts(sources: Mapping[str, Any] | None = None) -> dict[str, Any]:
    src = sources if sources is not None else read_sources()
    npc, left_out = doc_objects(src["nonprofit_cloud.json"])
    standard = src["standard.json"]
    unconfirmed = [str(u) for u in standard.get("unconfirmed", [])]
    unconfirmed += [str(u) for u in src["nonprofit_cloud.json"]["about"].get("unconfirmed", [])]
    return {
        "about": {
            "generatedBy": "python -m mappings.snapshots.reference (do not edit by hand)",
            "sources": {name: _source_of(name, src[name]) for name in SOURCE_FILES},
            "keyPrefixes": "placeholders: the reference has no key prefixes (they differ per org)",
            "apiVersion": API_VERSION,
        },
        "objects": {
            "pmm": package_objects(src["pmm.json"]),
            "npsp": package_objects(src["npsp.json"]),
            "npc": npc,
        },
        "packageFields": {
            "npsp": package_fields_on(src["npsp.json"], ["Account", "Contact", "Lead", "Opportunity"]),
            "pmm": package_fields_on(src["pmm.json"], ["Contact", "Account"]),
        },
        "standardFields": standard_fields(standard),
        "addressPicklists": address_picklist_fields(standard, src["iso3166.json"]),
        "npsp": npsp_record_types(src["npsp.json"]),
        "leftOut": left_out,
        "unconfirmed": unconfirmed,
    }


def _source_of(name: str, data: Mapping[str, Any]) -> str:
    about = data.get("about") or {}
    if isinstance(about, Mapping):
        for key in ("source", "commit", "repository"):
            if about.get(key):
                return f"sources/{name} ({key}: {about[key]})"
    return f"sources/{name}"


def org_facts_text(facts: Mapping[str, Any]) -> str:
    """Stable text: one line per field, per record type and per listed item, so diffs stay readable."""
    return _dump(facts, 0) + "\n"


def _dump(value: Any, depth: int) -> str:
    pad = "  " * (depth + 1)
    if isinstance(value, Mapping) and value and not _is_leaf(value):
        items = [f"{pad}{json.dumps(k)}: {_dump(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(value, list) and len(value) > 1 and (any(isinstance(v, Mapping) for v in value) or depth < 3):
        items = [f"{pad}{_dump(v, depth + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _is_leaf(value: Mapping[str, Any]) -> bool:
    """A field, a record type or a validation rule: one line each."""
    return "name" in value and ("type" in value or "developerName" in value or "errorMessage" in value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if org_facts.json differs from the sources")
    args = parser.parse_args(argv)
    text = org_facts_text(build_org_facts())
    current = GENERATED.read_text("utf-8") if GENERATED.exists() else ""
    if text == current:
        print(f"{GENERATED.name} is up to date")
        return 0
    if args.check:
        print(f"stale: {GENERATED.name} (run python -m mappings.snapshots.reference)")
        return 1
    GENERATED.write_text(text, "utf-8")
    print(f"wrote: {GENERATED.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
