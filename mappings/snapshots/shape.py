"""The shape of Salesforce describe JSON: one field, one object, the fields every object has.

These builders are not facts about any org; `reference.py` (generated packaged objects) and `facts.py` (the
standard-object skeletons) both pour their facts through them, so every snapshot has the same shape as a real
describe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Describe = dict[str, Any]

# Metadata API field types → describe `type`.
METADATA_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Number": "double",
    "Percent": "percent",
    "Currency": "currency",
    "Date": "date",
    "DateTime": "datetime",
    "Checkbox": "boolean",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Lookup": "reference",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
}
_DEFAULT_LENGTH = {
    "string": 255,
    "textarea": 255,
    "picklist": 255,
    "multipicklist": 4099,
    "reference": 18,
    "id": 18,
    "email": 80,
    "phone": 40,
    "url": 255,
    "combobox": 255,
}


def field(
    name: str,
    type_: str,
    label: str | None = None,
    *,
    length: int | None = None,
    precision: int | None = None,
    scale: int | None = None,
    required: bool = False,
    create: bool = True,
    update: bool = True,
    defaulted: bool = False,
    default: Any = None,
    ref: str | Sequence[str] | None = None,
    rel: str | None = None,
    child: str | None = None,
    values: Sequence[str] = (),
    value_labels: dict[str, str] | None = None,
    picklist_default: str | None = None,
    restricted: bool = False,
    formula: bool = False,
    external: bool = False,
    unique: bool = False,
    case_sensitive: bool = False,
    id_lookup: bool = False,
    auto_number: bool = False,
    name_field: bool = False,
    restrict_delete: bool = False,
    cascade_delete: bool = False,
) -> dict[str, Any]:
    """One describe field.  `required` means nillable false; a checkbox is never nillable and defaults."""
    kind = METADATA_TYPES.get(type_, type_)
    if kind == "boolean":
        required, defaulted = True, True
        default = bool(default) if default is not None else False
    if formula:
        create = update = False
    refs = [ref] if isinstance(ref, str) else list(ref or [])
    result: dict[str, Any] = {
        "name": name,
        "label": label or default_label(name),
        "type": kind,
        "length": length if length is not None else _DEFAULT_LENGTH.get(kind, 0),
        "precision": precision if precision is not None else (18 if kind in ("double", "currency", "percent") else 0),
        "scale": scale if scale is not None else 0,
        "digits": 9 if kind == "int" else 0,
        "nillable": not required,
        "createable": create,
        "updateable": update,
        "defaultedOnCreate": defaulted or picklist_default is not None or default is not None,
        "defaultValue": default if default is not None else picklist_default,
        "calculated": formula,
        "autoNumber": auto_number,
        "custom": name.endswith("__c"),
        "nameField": name_field,
        "externalId": external,
        "unique": unique,
        "caseSensitive": case_sensitive,
        "idLookup": id_lookup or external or kind == "id",
        "restrictedPicklist": restricted,
        "picklistValues": [
            {
                "value": v,
                "label": (value_labels or {}).get(v, v),
                "active": True,
                "defaultValue": v == picklist_default,
                "validFor": None,
            }
            for v in values
        ],
        "referenceTo": refs,
        "relationshipName": rel if rel is not None else (_relationship(name) if refs else None),
        "polymorphicForeignKey": len(refs) > 1,
        "cascadeDelete": cascade_delete,
        "restrictedDelete": restrict_delete,
    }
    if child is not None:
        result["x_childRelationshipName"] = child
    return result


def default_label(name: str) -> str:
    base = name.split("__")[1] if name.count("__") == 2 else name.removesuffix("__c")
    base = base.removesuffix("Id") if base.endswith("Id") and base != "Id" else base
    words: list[str] = []
    for part in base.replace("_", " ").split():
        out = ""
        for i, ch in enumerate(part):
            if i and ch.isupper() and not part[i - 1].isupper():
                out += " "
            out += ch
        words.append(out)
    return " ".join(words)


def _relationship(name: str) -> str:
    if name.endswith("__c"):
        return name[:-3] + "__r"
    return name[:-2] if name.endswith("Id") else name


def system_fields(*, owner: bool = True, audit: bool = True) -> list[dict[str, Any]]:
    """Fields every object has (Id, IsDeleted, SystemModstamp) and most have (audit fields, OwnerId)."""
    result = [
        field("Id", "id", "Record ID", required=True, create=False, update=False, defaulted=True),
        field("IsDeleted", "boolean", "Deleted", create=False, update=False),
    ]
    if audit:
        result += [
            field("CreatedDate", "datetime", "Created Date", required=True, create=False, update=False, defaulted=True),
            field(
                "CreatedById",
                "reference",
                "Created By ID",
                required=True,
                create=False,
                update=False,
                defaulted=True,
                ref="User",
                rel="CreatedBy",
            ),
            field(
                "LastModifiedDate",
                "datetime",
                "Last Modified Date",
                required=True,
                create=False,
                update=False,
                defaulted=True,
            ),
            field(
                "LastModifiedById",
                "reference",
                "Last Modified By ID",
                required=True,
                create=False,
                update=False,
                defaulted=True,
                ref="User",
                rel="LastModifiedBy",
            ),
        ]
    result.append(
        field(
            "SystemModstamp", "datetime", "System Modstamp", required=True, create=False, update=False, defaulted=True
        )
    )
    if owner:
        result.append(
            field("OwnerId", "reference", "Owner ID", required=True, defaulted=True, ref=["Group", "User"], rel="Owner")
        )
    return result


def text_name(
    length: int = 80, label: str = "Name", *, required: bool = True, defaulted: bool = False
) -> dict[str, Any]:
    return field(
        "Name", "string", label, length=length, required=required, defaulted=defaulted, name_field=True, id_lookup=True
    )


def custom_name(label: str = "Name") -> dict[str, Any]:
    """A custom object's Text Name: required in describe, but filled with the record Id when left out."""
    return text_name(80, label, defaulted=True)


def auto_name(label: str = "Name") -> dict[str, Any]:
    return field(
        "Name",
        "string",
        label,
        length=80,
        required=True,
        create=False,
        update=False,
        defaulted=True,
        auto_number=True,
        name_field=True,
        id_lookup=True,
    )


def compound_name(length: int = 121) -> dict[str, Any]:
    return field(
        "Name",
        "string",
        "Full Name",
        length=length,
        required=True,
        create=False,
        update=False,
        defaulted=True,
        name_field=True,
    )


MASTER_RECORD_TYPE = "012000000000000AAA"


def record_type_infos(types: Iterable[tuple[str, str, str]] = (), default: str | None = None) -> list[dict[str, Any]]:
    """(developer name, label, id) per record type; Master is always present, as in a real describe."""
    infos = [
        {
            "name": label,
            "developerName": dev,
            "recordTypeId": rt_id,
            "active": True,
            "available": True,
            "defaultRecordTypeMapping": dev == default,
            "master": False,
        }
        for dev, label, rt_id in types
    ]
    infos.append(
        {
            "name": "Master",
            "developerName": "Master",
            "recordTypeId": MASTER_RECORD_TYPE,
            "active": True,
            "available": not infos,
            "defaultRecordTypeMapping": not infos,
            "master": True,
        }
    )
    return infos


def sobject(
    name: str,
    label: str,
    plural: str,
    key_prefix: str,
    fields: Iterable[dict[str, Any]],
    *,
    owner: bool = True,
    audit: bool = True,
    record_types: list[dict[str, Any]] | None = None,
    createable: bool = True,
) -> Describe:
    own = list(fields)
    if record_types is not None and len(record_types) > 1:
        own.append(
            field("RecordTypeId", "reference", "Record Type ID", ref="RecordType", rel="RecordType", defaulted=True)
        )
    all_fields = system_fields(owner=owner, audit=audit) + sorted(own, key=lambda f: f["name"])
    names = [f["name"] for f in all_fields]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{name} declares {sorted(duplicates)} twice")
    return {
        "name": name,
        "label": label,
        "labelPlural": plural,
        "keyPrefix": key_prefix,
        "custom": name.endswith("__c"),
        "createable": createable,
        "updateable": createable,
        "deletable": createable,
        "queryable": True,
        "fields": all_fields,
        "recordTypeInfos": record_types if record_types is not None else record_type_infos(),
        "childRelationships": [],
    }


def master_record(object_name: str) -> dict[str, Any]:
    """Objects staff can merge (Account, Contact, Lead) keep each merged-away record, deleted, pointing here."""
    return field(
        "MasterRecordId",
        "reference",
        "Master Record ID",
        ref=object_name,
        rel="MasterRecord",
        create=False,
        update=False,
    )
