"""`ignite-sync export funder KEY` and `ignite-sync funder-token create|list|revoke`: funder outcome exports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.context import console, err_console, get_context
from cli.credentials import ExpiresIn, NoExpiry, lifetime, state, when
from connector.base import CrmError
from exports.aggregate import load_funder
from exports.service import (
    UnknownFunderError,
    build_funder_report,
    funder_key,
    parse_formats,
    write_report,
    zip_files,
    zip_name,
)
from exports.tokens import create_token, list_tokens, revoke_token
from mappings.profile import load_profile
from sync.attach import AttachError, attach_export

export_app = typer.Typer(
    rich_markup_mode=None, help="Funder outcome exports (aggregate, small cells suppressed).", no_args_is_help=True
)
token_app = typer.Typer(
    rich_markup_mode=None, help="Download tokens for the funder export endpoint.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.add_typer(token_app, name="funder-token")


@export_app.command("funder")
def export_funder_command(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="Funder key, e.g. funder:acme (or just acme).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    formats: Annotated[str, typer.Option("--format", help="Comma-separated: xlsx,csv,pdf,html.")] = "xlsx,csv,pdf,html",
    attach: Annotated[
        bool, typer.Option("--attach", help="Also attach the files to each grant's Opportunity in the CRM.")
    ] = False,
) -> None:
    """Write one funder's export: only the cohorts its grants fund, within each grant's period.

    With --attach the files written are also zipped (the same bytes the download endpoint serves when every
    format is chosen) and attached to each grant's Opportunity as a File; re-running changes nothing unless
    the data changed, and then it adds a new version of that File.
    """
    context = get_context(ctx)
    try:
        chosen = parse_formats(formats)
    except ValueError as exc:
        err_console.print(f"[red]--format[/red]: {exc}")
        raise typer.Exit(2) from None
    # Open the CRM first: a CRM that cannot be reached should stop the command before any file is written.
    connector = context.connector() if attach else None
    engine = context.migrated_engine()
    try:
        report = build_funder_report(
            engine, funder_key(key), k=context.settings.export_min_cell, timezone=context.settings.program_timezone
        )
    except UnknownFunderError as exc:
        err_console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(1) from None
    written = write_report(report, out, chosen)
    for path in written:
        console.print(f"wrote {path}")
    suppressed = sum(t.suppressed_count for t in report.tables)
    console.print(f"{len(written)} files for {report.funder.name}; {suppressed} values suppressed (k = {report.k})")
    if connector is None:
        return
    grants = [g.grant.key for g in report.grants]
    if not grants:
        err_console.print(f"[red]--attach[/red]: {report.funder.key} has no grants, so no Opportunity to attach to")
        raise typer.Exit(1)
    name = zip_name(report.funder.key)
    try:
        key_field = load_profile(context.settings.profile).key_field
        attached = attach_export(connector, grants, name, zip_files(written, report.as_of), external_id_field=key_field)
    except (AttachError, CrmError) as exc:
        err_console.print(f"[red]--attach[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    for a in attached:
        console.print(
            escape(f"{a.grant}: {name} on Opportunity {a.opportunity_id} (File {a.content_document_id}): {a.outcome}"),
            highlight=False,
        )


@token_app.command("create")
def create_token_command(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="Funder key, e.g. funder:acme (or just acme).")],
    label: Annotated[str | None, typer.Option(help="A note to recognise the token by later.")] = None,
    expires_in: ExpiresIn = None,
    no_expiry: NoExpiry = False,
) -> None:
    """Create a download token for one funder; it is printed once and stored only as a hash.  It expires after
    a year unless --expires-in DAYS or --no-expiry says otherwise."""
    chosen = lifetime(expires_in, no_expiry)
    context = get_context(ctx)
    engine = context.migrated_engine()
    with engine.begin() as conn:
        if load_funder(conn, funder_key(key)) is None:
            err_console.print(f"[red]error[/red] no funder with key {funder_key(key)!r} in the service database")
            raise typer.Exit(1)
        issued = create_token(conn, funder_key(key), label, lifetime=chosen)
    expires = when(issued.expires_at, "never")
    console.print(f"token id {issued.id} for {issued.funder}, expires {expires} (shown once; store it now):")
    print(issued.secret)


@token_app.command("list")
def list_tokens_command(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(metavar="[KEY]", help="Only this funder's tokens.")] = None,
) -> None:
    """Token id, funder, label, state, created, expires, last used (to the minute) and revoked; never a token."""
    engine = get_context(ctx).migrated_engine()
    with engine.connect() as conn:
        tokens = list_tokens(conn, funder_key(key) if key else None)
    now = datetime.now(UTC)
    typer.echo("id\tfunder\tlabel\tstate\tcreated\texpires\tlast used\trevoked")
    for t in tokens:
        cells = [
            t.id,
            t.funder,
            t.label or "-",
            state(revoked_at=t.revoked_at, expires_at=t.expires_at, now=now),
            when(t.created_at),
            when(t.expires_at, "never"),
            when(t.last_used_at, "never"),
            when(t.revoked_at),
        ]
        typer.echo("\t".join(cells))  # tab-separated, as typed: rich would expand the tabs


@token_app.command("revoke")
def revoke_token_command(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(metavar="ID", help="The token id `list` shows.")]
) -> None:
    """Revoke a token at once (rotate: create a new one, give it to the funder, revoke the old)."""
    engine = get_context(ctx).migrated_engine()
    with engine.begin() as conn:
        revoked = revoke_token(conn, token_id)
    if not revoked:
        err_console.print(f"[red]error[/red] no live funder token with id {token_id!r}", highlight=False)
        raise typer.Exit(1)
    console.print(f"revoked {token_id}")
