"""`ignite-sync crm …`: look at the configured CRM the way staff would: run SOQL, read an object's describe."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cli import tables
from cli.context import console, err_console, get_context
from connector.base import CrmConnector, CrmError, CrmRecord
from connector.ids import is_id
from connector.reader import query_all
from connector.soql import soql_quote
from mappings.profile import load_profile

app = typer.Typer(
    rich_markup_mode=None,
    help="Query and describe the configured CRM (the local CRM by default).",
    no_args_is_help=True,
)


def _flatten(record: CrmRecord, prefix: str = "") -> dict[str, Any]:
    """`{"Account": {"Name": "x"}}` -> `{"Account.Name": "x"}` so a parent path is one table column."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fail(exc: CrmError) -> typer.Exit:
    code = f"{exc.code}: " if exc.code else ""
    err_console.print(f"[red]CRM error[/red] {code}{exc}", highlight=False, markup=True)
    return typer.Exit(1)


@app.command()
def query(
    ctx: typer.Context,
    soql: Annotated[
        str, typer.Argument(metavar="SOQL", help='A SOQL query, e.g. "SELECT Id, Name FROM Account LIMIT 10".')
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print {totalSize, records} as JSON.")] = False,
    include_deleted: Annotated[
        bool, typer.Option("--include-deleted", help="Also show deleted records (queryAll).")
    ] = False,
) -> None:
    """Run SOQL against the configured CRM and print every row (all pages)."""
    connector = get_context(ctx).connector()
    try:
        # The pages themselves, not `connector.reader.query_all`: `SELECT COUNT() …` has a totalSize and no records.
        pages = list(connector.query(soql, include_deleted=include_deleted))
    except CrmError as exc:
        raise _fail(exc) from None
    records = [record for page in pages for record in page.records]
    total = pages[0].total_size if pages else 0
    if as_json:
        typer.echo(json.dumps({"totalSize": total, "done": True, "records": records}, indent=2, default=str))
        return
    if not records:
        console.print(f"{total} record(s)" if total else "no records")
        return
    rows = [_flatten(record) for record in records]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    # A parent that is null in some rows shows up as a bare "Account" key; its "Account.Name" column covers it.
    columns = [c for c in columns if not any(other.startswith(c + ".") for other in columns)]
    table = tables.table(f"{total} record(s)", *columns)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(table)


@app.command()
def describe(
    ctx: typer.Context,
    object_name: Annotated[str, typer.Argument(metavar="OBJECT", help="API name, e.g. Contact or pmdm__Program__c.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full describe JSON.")] = False,
) -> None:
    """Show an object's fields: type, length, required, access, keys, picklist values and lookup targets."""
    connector = get_context(ctx).connector()
    try:
        result = connector.describe(object_name)
    except CrmError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    table = tables.table(
        f"{result.get('name')} (key prefix {result.get('keyPrefix')})",
        "field",
        "type",
        "len",
        "req.",
        "access, keys",
        "values / target",
        numeric=["len"],
        whole={
            "field": [str(f.get("name")) for f in result.get("fields", [])],
            "type": [str(f.get("type")) for f in result.get("fields", [])],
            "access, keys": ["read-only"],
        },
    )
    for field in sorted(result.get("fields", []), key=lambda f: str(f.get("name"))):
        required = not field.get("nillable", True) and field.get("createable") and not field.get("defaultedOnCreate")
        access = (
            "".join(flag for flag, on in (("c", field.get("createable")), ("u", field.get("updateable"))) if on)
            or "read-only"
        )
        keys = ", ".join(
            word for word, on in (("ext. id", field.get("externalId")), ("unique", field.get("unique"))) if on
        )
        if field.get("referenceTo"):
            extra = "→ " + ", ".join(field["referenceTo"])
        else:
            values = [str(v.get("value")) for v in field.get("picklistValues") or [] if v.get("active", True)]
            extra = ("restricted: " if field.get("restrictedPicklist") else "") + ", ".join(values)
        table.add_row(
            str(field.get("name")),
            str(field.get("type")),
            _cell(field.get("length") or ""),
            "yes" if required else "",
            ", ".join(filter(None, (access, keys))),
            extra,
        )
    console.print(table)


@app.command()
def update(
    ctx: typer.Context,
    object_name: Annotated[str, typer.Argument(metavar="OBJECT", help="API name, e.g. Ignite_Sync_Issue__c.")],
    record_id: Annotated[
        str,
        typer.Argument(metavar="RECORD", help="The record's Id, its Name (e.g. ISS-000001) or its Ignite key."),
    ],
    assignments: Annotated[
        list[str],
        typer.Argument(metavar="FIELD=VALUE...", help='e.g. Status__c="Retry requested"; an empty value clears it.'),
    ],
) -> None:
    """Change fields of one record, as staff do in Salesforce (e.g. ask for a retry on a sync issue)."""
    context = get_context(ctx)
    connector = context.connector()
    record_id = _record_id(connector, object_name, record_id, load_profile(context.settings.profile).key_field)
    values: dict[str, Any] = {"Id": record_id}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            err_console.print(f"[red]not FIELD=VALUE:[/red] {item!r}", highlight=False)
            raise typer.Exit(2)
        values[name.strip()] = value if value != "" else None
    try:
        [result] = connector.update(object_name, [values])
    except CrmError as exc:
        raise _fail(exc) from None
    if not result.success:
        named = f" ({', '.join(result.fields)})" if result.fields else ""
        err_console.print(f"[red]refused[/red] {result.error_code}{named}: {result.message}", highlight=False)
        raise typer.Exit(1)
    console.print(f"updated {object_name} {record_id}: {', '.join(sorted(set(values) - {'Id'}))}", highlight=False)


def _record_id(connector: CrmConnector, object_name: str, record: str, key_field: str) -> str:
    """An Id as given; otherwise the one record whose Name or Ignite key is `record`, so a README or a person can
    name `ISS-000001` or `program:ignite` instead of copying an 18-character Id."""
    if is_id(record):
        return record
    try:
        fields = {str(f.get("name")) for f in connector.describe(object_name).get("fields", [])}
        where = [f"{name} = {soql_quote(record)}" for name in ("Name", key_field) if name in fields]
        if not where:
            err_console.print(f"{record!r} is not an Id, and {object_name} has no Name or {key_field} to find it by")
            raise typer.Exit(2)
        soql = f"SELECT Id FROM {object_name} WHERE {' OR '.join(where)}"
        found = list(query_all(connector, soql))
    except CrmError as exc:
        raise _fail(exc) from None
    if len(found) != 1:
        many = f"{len(found)} {object_name} records have" if found else f"no {object_name} has"
        err_console.print(f"{many} the Name or key {record!r}; give the record's Id instead", highlight=False)
        raise typer.Exit(2)
    return str(found[0]["Id"])
