"""Object and field specs read from Salesforce describe JSON: the local CRM's schema, as the org would have it.

The local CRM keeps the describes it was created from inside its own database, so it can be reopened without
them and answers `describe()` with what a real org would say.  Everything it enforces (required fields,
lengths, restricted picklists, uniqueness, lookups) is read from these specs, never hard-coded per object.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Field types whose values are text and compare case-insensitively in SOQL (as in Salesforce).
TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
        "base64",
        "anytype",
        "time",
    }
)
INTEGER_TYPES = frozenset({"int", "long"})
REAL_TYPES = frozenset({"double", "currency", "percent"})
ID_TYPES = frozenset({"id", "reference"})
# Compound fields (MailingAddress, geolocation) are views over their component fields: no column of their own.
COMPOUND_TYPES = frozenset({"address", "location"})

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")

STANDARD_KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "Campaign": "701",
    "CampaignMember": "00v",
    "Task": "00T",
    "Event": "00U",
    "User": "005",
    "RecordType": "012",
    "Case": "500",
}


def check_name(name: str, what: str) -> str:
    """Object and field names become SQL identifiers, so only API-name characters are allowed."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} {name!r} is not a valid Salesforce API name")
    return name


def _system_fields() -> list[dict[str, Any]]:
    """Fields every Salesforce object has; added to a describe that leaves them out."""

    def field(name: str, ftype: str, **extra: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "name": name,
            "label": name,
            "type": ftype,
            "length": 18 if ftype == "id" else 0,
            "nillable": False,
            "createable": False,
            "updateable": False,
            "defaultedOnCreate": True,
            "externalId": False,
            "idLookup": ftype == "id",
            "unique": False,
            "calculated": False,
            "custom": False,
            "restrictedPicklist": False,
            "picklistValues": [],
            "referenceTo": [],
            "relationshipName": None,
        }
        base.update(extra)
        return base

    return [
        field("Id", "id"),
        field("IsDeleted", "boolean"),
        field("CreatedDate", "datetime"),
        field("LastModifiedDate", "datetime"),
        field("SystemModstamp", "datetime"),
    ]


SYSTEM_FIELD_NAMES = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str
    length: int
    nillable: bool
    createable: bool
    updateable: bool
    defaulted_on_create: bool
    external_id: bool
    id_lookup: bool
    unique: bool
    case_sensitive: bool
    restricted_picklist: bool
    picklist_values: frozenset[str]
    default_picklist_value: str | None
    default_value: Any
    reference_to: tuple[str, ...]
    relationship_name: str | None
    calculated: bool
    # A dependent picklist (a state code under its country code) is checked by the rule that knows its controller.
    controller_name: str | None = None

    @classmethod
    def from_describe(cls, raw: Mapping[str, Any]) -> FieldSpec:
        name = check_name(str(raw.get("name")), "field")
        values = raw.get("picklistValues") or []
        active = frozenset(str(v["value"]) for v in values if v.get("active", True))
        default_pick = next((str(v["value"]) for v in values if v.get("defaultValue") and v.get("active", True)), None)
        ftype = str(raw.get("type", "string")).lower()
        return cls(
            name=name,
            type=ftype,
            length=int(raw.get("length") or 0),
            nillable=bool(raw.get("nillable", True)),
            createable=bool(raw.get("createable", True)),
            updateable=bool(raw.get("updateable", True)),
            defaulted_on_create=bool(raw.get("defaultedOnCreate", False)),
            external_id=bool(raw.get("externalId", False)),
            id_lookup=bool(raw.get("idLookup", False)) or ftype == "id",
            unique=bool(raw.get("unique", False)),
            case_sensitive=bool(raw.get("caseSensitive", False)),
            restricted_picklist=bool(raw.get("restrictedPicklist", False)),
            picklist_values=active,
            default_picklist_value=default_pick,
            default_value=raw.get("defaultValue"),
            reference_to=tuple(str(r) for r in raw.get("referenceTo") or ()),
            relationship_name=raw.get("relationshipName") or None,
            calculated=bool(raw.get("calculated", False)),
            controller_name=raw.get("controllerName") or None,
        )

    @property
    def stored(self) -> bool:
        return self.type not in COMPOUND_TYPES

    @property
    def sql_type(self) -> str:
        if self.type in INTEGER_TYPES or self.type == "boolean":
            return "INTEGER"
        if self.type in REAL_TYPES:
            return "REAL"
        if self.type in ID_TYPES or self.case_sensitive:
            return "TEXT"
        # Salesforce compares and sorts text case-insensitively; NOCASE gives SOQL `=`, IN and ORDER BY that.
        return "TEXT COLLATE NOCASE"

    @property
    def required_on_create(self) -> bool:
        """The describe rule: not nillable, createable and not defaulted by the server (booleans default false)."""
        return not self.nillable and self.createable and not self.defaulted_on_create and self.type != "boolean"


@dataclass
class ObjectSpec:
    name: str
    key_prefix: str
    describe: dict[str, Any]
    fields: dict[str, FieldSpec]  # lower-case API name -> spec
    relationships: dict[str, FieldSpec]  # lower-case relationshipName -> the reference field
    # Derived once, because every row of every write consults them.
    by_name: dict[str, FieldSpec] = field(default_factory=dict)  # canonical API name -> spec
    required_on_create: tuple[FieldSpec, ...] = ()
    not_createable: frozenset[str] = frozenset()
    not_updateable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields.values()}
        self.required_on_create = tuple(f for f in self.fields.values() if f.required_on_create)
        self.not_createable = frozenset(f.name for f in self.fields.values() if not f.createable)
        self.not_updateable = frozenset(f.name for f in self.fields.values() if not f.updateable)

    @classmethod
    def from_describe(cls, name: str, raw: Mapping[str, Any], key_prefix: str) -> ObjectSpec:
        check_name(name, "object")
        describe = copy.deepcopy(dict(raw))
        describe["name"] = name
        describe["keyPrefix"] = key_prefix
        raw_fields = list(describe.get("fields") or [])
        present = {str(f.get("name", "")).lower() for f in raw_fields}
        raw_fields.extend(f for f in _system_fields() if f["name"].lower() not in present)
        describe["fields"] = raw_fields
        fields: dict[str, FieldSpec] = {}
        relationships: dict[str, FieldSpec] = {}
        for raw_field in raw_fields:
            spec = FieldSpec.from_describe(raw_field)
            if spec.name.lower() in fields:
                raise ValueError(f"{name}: field {spec.name} is described twice")
            fields[spec.name.lower()] = spec
            if spec.type == "reference" and spec.relationship_name:
                relationships[spec.relationship_name.lower()] = spec
        if fields["id"].type != "id":
            raise ValueError(f"{name}: field Id must have type 'id'")
        return cls(name=name, key_prefix=key_prefix, describe=describe, fields=fields, relationships=relationships)

    @property
    def person_name(self) -> bool:
        """Name is a read-only field computed from FirstName and LastName (Contact, Lead)."""
        name = self.fields.get("name")
        return (
            name is not None
            and not name.createable
            and not name.updateable
            and "firstname" in self.fields
            and "lastname" in self.fields
        )

    def field(self, name: str) -> FieldSpec | None:
        return self.by_name.get(name) or self.fields.get(name.lower())

    def stored_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields.values() if f.stored]
