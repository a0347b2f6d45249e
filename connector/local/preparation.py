"""Reading one input record into a `Row`: canonical field names, stored values, and external-ID references.

Pure (no database): unknown fields, read-only compound fields, values of the wrong type and malformed
references fail the row here with Salesforce's error codes, before the write call touches the tables.  A
reference to a polymorphic lookup (`Who`, `Enrollee`) must name its target in `attributes.type`, as
Salesforce requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.local.rows import Ref, Row, RowError
from connector.local.schema import FieldSpec, ObjectSpec
from connector.local.values import coerce, coerce_id

_IGNORED_KEYS = frozenset({"attributes"})


def prepare(
    specs: Mapping[str, ObjectSpec],
    spec: ObjectSpec,
    index: int,
    record: Mapping[str, Any],
    mode: str,
    ext: FieldSpec | None,
) -> Row:
    """The row for `record` in a `mode` ("create", "update", "upsert") call; `ext` is an upsert's key field."""
    row = Row(index=index, values={}, create=mode != "update")
    try:
        if not isinstance(record, Mapping):
            raise RowError("INVALID_TYPE_ON_FIELD_IN_RECORD", "record must be a JSON object of field values")
        for key, raw in record.items():
            if key in _IGNORED_KEYS:
                continue
            fspec = spec.field(key)
            if fspec is None:
                rel = spec.relationships.get(str(key).lower())
                if rel is None:
                    raise RowError(
                        "INVALID_FIELD", f"No such column '{key}' on sobject of type {spec.name}", (str(key),)
                    )
                row.refs.append(_prepare_ref(specs, spec, rel, raw))
                continue
            if mode == "update" and fspec.name == "Id":
                row.record_id = coerce_id(fspec, raw)
                continue
            if not fspec.stored:
                raise RowError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {fspec.name}. Compound fields are read-only; "
                    f"write their component fields instead.",
                    (fspec.name,),
                )
            row.values[fspec.name] = coerce(fspec, raw)
        if mode == "update" and row.record_id is None:
            raise RowError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",))
        if ext is not None and ext.name != "Id" and row.values.get(ext.name) is None:
            raise RowError("MISSING_ARGUMENT", f"{ext.name} not specified", (ext.name,))
        if ext is not None and ext.name == "Id" and "Id" in row.values:
            row.record_id = row.values.pop("Id")
    except RowError as err:
        row.error = err
    return row


def _prepare_ref(specs: Mapping[str, ObjectSpec], spec: ObjectSpec, rel: FieldSpec, raw: Any) -> Ref:
    name = rel.relationship_name or rel.name
    if not isinstance(raw, Mapping):
        raise RowError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: an external-ID reference must be an object", (name,)
        )
    keys = [k for k in raw if k not in _IGNORED_KEYS]
    if len(keys) != 1:
        raise RowError(
            "INVALID_FIELD",
            f"More than 1 field provided in an external foreign key reference in entity: {spec.name}"
            if keys
            else f"No external ID field given in the foreign key reference {name}",
            (name,),
        )
    target = _ref_target(specs, spec, rel, name, raw.get("attributes"))
    key_field = target.field(keys[0])
    if key_field is None or not (key_field.external_id or key_field.id_lookup):
        raise RowError(
            "INVALID_FIELD",
            f"Field {keys[0]} does not exist or is not an External ID field on {target.name}",
            (name,),
        )
    value = coerce(key_field, raw[keys[0]])
    if key_field.name == "Id" and value is None:
        raise RowError("INVALID_FIELD", f"{name}: an Id reference needs a value", (name,))
    return Ref(rel, target, key_field, value)


def _ref_target(
    specs: Mapping[str, ObjectSpec], spec: ObjectSpec, rel: FieldSpec, name: str, attributes: Any
) -> ObjectSpec:
    """The object an external-ID reference points at.  A polymorphic lookup (`Who`, `Enrollee`) can point at
    several objects, so its reference names one in `attributes.type`, as Salesforce requires; a plain
    lookup may name its one target too."""
    named = attributes.get("type") if isinstance(attributes, Mapping) else None
    if attributes is not None and (not isinstance(named, str) or not named):
        raise RowError("INVALID_FIELD", f"{name}: attributes of a reference must name its type", (name,))
    if named is None:
        if len(rel.reference_to) != 1:
            raise RowError(
                "INVALID_FIELD",
                f"{name} is polymorphic ({', '.join(rel.reference_to)}): name the target object of the "
                f'external ID reference in "attributes": {{"type": …}}',
                (name,),
            )
        named = rel.reference_to[0]
    allowed = {t.lower(): t for t in rel.reference_to}
    if named.lower() not in allowed:
        raise RowError(
            "INVALID_FIELD",
            f"{name}: {named} is not a valid type for {spec.name}.{rel.name} "
            f"(it can point at {', '.join(rel.reference_to)})",
            (name,),
        )
    target = specs.get(named.lower())
    if target is None:
        raise RowError("INVALID_FIELD", f"{name}: the local CRM has no object {allowed[named.lower()]}", (name,))
    return target
