"""`ignite-sync crm …`: look at the configured CRM the way staff would: run SOQL, read an object's describe."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cli import tables
from cli.context import console, err_console, get_context
from connector.base import CrmError, CrmRecord

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
    record_id: Annotated[str, typer.Argument(metavar="ID", help="The record's Id.")],
    assignments: Annotated[
        list[str],
        typer.Argument(metavar="FIELD=VALUE...", help='e.g. Status__c="Retry requested"; an empty value clears it.'),
    ],
) -> None:
    """Change fields of one record, as staff do in Salesforce (e.g. ask for a retry on a sync issue)."""
    values: dict[str, Any] = {"Id": record_id}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            err_console.print(f"[red]not FIELD=VALUE:[/red] {item!r}", highlight=False)
            raise typer.Exit(2)
        values[name.strip()] = value if value != "" else None
    connector = get_context(ctx).connector()
    try:
        [result] = connector.update(object_name, [values])
    except CrmError as exc:
        raise _fail(exc) from None
    if not result.success:
        named = f" ({', '.join(result.fields)})" if result.fields else ""
        err_console.print(f"[red]refused[/red] {result.error_code}{named}: {result.message}", highlight=False)
        raise typer.Exit(1)
    console.print(f"updated {object_name} {record_id}: {', '.join(sorted(set(values) - {'Id'}))}", highlight=False)
