"""Field-level rules that depend on whether a row creates or updates: field access and required fields.

Runs once matching has decided create or update: a field the describe marks not createable (or not
updateable) fails the row with INVALID_FIELD_FOR_INSERT_UPDATE; a create missing a required field, or an
update blanking a non-nillable one, fails with REQUIRED_FIELD_MISSING, as Salesforce answers.
"""

from __future__ import annotations

from connector.local.rows import Row, RowError
from connector.local.schema import ObjectSpec


def check_access(spec: ObjectSpec, row: Row) -> None:
    names = list(row.values) + [ref.field.name for ref in row.refs]
    forbidden = spec.not_createable if row.create else spec.not_updateable
    blocked = [name for name in names if name in forbidden]
    if blocked:
        action = "create" if row.create else "update"
        row.error = RowError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to {action} fields: {', '.join(blocked)}. Please check the security settings of this field "
            f"and verify that it is read/write for your profile or permission set.",
            blocked,
        )
        return
    referenced = {ref.field.name for ref in row.refs}
    if row.create:
        missing = [
            f.name
            for f in spec.required_on_create
            if row.values.get(f.name) is None and (not referenced or f.name not in referenced)
        ]
    else:
        missing = [
            name
            for name, value in row.values.items()
            if value is None and not spec.fields[name.lower()].nillable and spec.fields[name.lower()].type != "boolean"
        ]
    if missing:
        row.error = RowError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
