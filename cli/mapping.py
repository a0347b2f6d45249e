"""`ignite-sync check-mapping` and `ignite-sync plugin export`: a profile against describe data, and its metadata."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from cli.context import console, err_console, get_context
from connector.base import CrmError
from mappings.check import CheckReport, DescribeSource, check_profile, describe_source
from mappings.plugin import plugin_files, write_plugin
from mappings.profile import PROFILE_NAMES, Profile, ProfileError, load_profile
from mappings.snapshots import load_describes
from settings import Settings

plugin_app = typer.Typer(
    rich_markup_mode=None, help="The CRM-side metadata a profile needs (Salesforce DX source).", no_args_is_help=True
)

_MISSING_CODES = {"NOT_FOUND", "INVALID_TYPE"}
ProfileOption = Annotated[str | None, typer.Option("--profile", "-p", help="Profile name (default: IGNITE_PROFILE).")]


def register(app: typer.Typer) -> None:
    """Adds `check-mapping` and `plugin …` to the root app (one line in cli/app.py)."""
    app.command("check-mapping")(check_mapping)
    app.add_typer(plugin_app, name="plugin")


def _profile(ctx: typer.Context, name: str | None) -> Profile:
    chosen = name or get_context(ctx).settings.profile
    if chosen not in PROFILE_NAMES:
        err_console.print(f"[red]unknown profile[/red] {chosen!r}; choose one of {', '.join(PROFILE_NAMES)}")
        raise typer.Exit(2)
    try:
        return load_profile(chosen)
    except ProfileError as exc:
        for problem in exc.problems:
            err_console.print(f"[red]profile error[/red] {problem}", highlight=False)
        raise typer.Exit(2) from None


def connector_describe(connector: Any) -> DescribeSource:
    """Describe through any object with `describe(name)` (a CrmConnector); a missing object reads as None."""

    def describe(name: str) -> Mapping[str, Any] | None:
        try:
            result: Mapping[str, Any] = connector.describe(name)
        except CrmError as exc:
            if exc.status == 404 or exc.code in _MISSING_CODES:
                return None
            raise
        return result

    return describe


def _live_connector(ctx: typer.Context) -> Any:
    """The CRM that IGNITE_CRM points at (the local CRM by default, or a Salesforce org)."""
    return get_context(ctx).connector()


def live_target(settings: Settings) -> str:
    """What `--live` checked against, in words: the default is the embedded local CRM, not an org, and saying
    "the live org: ok" there made people believe a Salesforce org had been checked."""
    if settings.crm == "local":
        where = make_url(settings.local_crm_url).render_as_string(hide_password=True)
        return f"local CRM at {where} (IGNITE_CRM=local; no Salesforce org was checked)"
    if settings.sf_auth == "session" and settings.sf_instance_url:
        return f"Salesforce org at {settings.sf_instance_url}"
    return f"Salesforce org signed in through https://{settings.sf_domain}.salesforce.com"


def _as_json(report: CheckReport) -> dict[str, Any]:
    return {
        "profile": report.profile,
        "checked_against": report.source,
        "ok": report.ok,
        "problems": [asdict(p) for p in report.problems],
        "unconfirmed": [asdict(n) for n in report.notes],
        "org_settings": {flag.flag: {"on": flag.on, "evidence": flag.evidence} for flag in report.detected},
    }


def print_report(report: CheckReport) -> None:
    if report.problems:
        table = Table(title=f"{report.profile}: problems against the {report.source}", show_lines=False)
        for column in ("step", "object", "field", "problem", "detail"):
            table.add_column(column, overflow="fold")
        for p in report.problems:
            table.add_row(p.step, p.object, p.field, p.kind, p.message)
        console.print(table)
    if report.notes:
        notes = Table(title="unconfirmed facts (a live check settles them)", style="dim")
        for column in ("step", "object", "field", "note"):
            notes.add_column(column)
        for n in report.notes:
            notes.add_row(n.step, n.object, n.field, n.message)
        console.print(notes)
    for flag in report.detected:
        state = "on" if flag.on else "off"
        evidence = "has" if flag.on else "lacks"
        console.print(
            f"org setting {flag.flag}: [bold]{state}[/bold] ({flag.evidence.split('.')[0]} {evidence} "
            f"{flag.evidence.split('.')[1]}). {flag.meaning}",
            soft_wrap=True,
            highlight=False,
        )
    verdict = "[green]ok[/green]" if report.ok else f"[red]{len(report.problems)} problem(s)[/red]"
    console.print(f"{report.profile} against the {report.source}: {verdict}", soft_wrap=True, highlight=False)


def check_mapping(
    ctx: typer.Context,
    profile: ProfileOption = None,
    live: Annotated[
        bool, typer.Option("--live", help="Check against the connected org's describe, not the snapshot.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one machine-readable report.")] = False,
) -> None:
    """Check a mapping profile against describe data; exit 1 on any problem."""
    loaded = _profile(ctx, profile)
    if live:
        source, label = connector_describe(_live_connector(ctx)), live_target(get_context(ctx).settings)
    else:
        source, label = describe_source(load_describes(loaded.name)), "snapshot"
    report = check_profile(loaded, source, source=label)
    if as_json:
        typer.echo(json.dumps(_as_json(report), ensure_ascii=False))
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)


@plugin_app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the Salesforce DX source into.")],
    profile: ProfileOption = None,
    with_setup: Annotated[
        list[str] | None,
        typer.Option(
            "--with",
            help="Also ship an opt-in org_setup part of the profile (npsp_pmm: grant_setup, the Grant record type "
            "and Awarded stage of NPSP's trial configuration).",
        ),
    ] = None,
) -> None:
    """Write the custom objects, fields, permission set and package.xml the profile needs."""
    loaded = _profile(ctx, profile)
    try:
        files = plugin_files(loaded, setup=tuple(with_setup or ()))
    except KeyError as exc:
        err_console.print(f"[red]{exc.args[0]}[/red]", highlight=False)
        raise typer.Exit(2) from None
    written = write_plugin(files, out)
    fields = sum(1 for p in written if p.name.endswith(".field-meta.xml"))
    objects = sum(1 for p in written if p.name.endswith(".object-meta.xml"))
    console.print(
        f"wrote {len(written)} files to {out}: {objects} custom objects, {fields} custom fields", soft_wrap=True
    )
    console.print(
        f"deploy with: cd {out} && sf project deploy start --manifest package.xml --target-org <alias>",
        soft_wrap=True,
    )
