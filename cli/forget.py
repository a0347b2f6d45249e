"""`ignite-sync forget EMAIL|KEY`: erase one person from the service database and the CRM (issue 18).

Thin: the service-database part and the job are `sync.erasure.forget`; this command then runs the CRM part
inline (like `sync` runs its sync) and the incremental sync that recomputes the cohort aggregates, and says
what was removed, by counts and CRM Ids, never by a value of the person.  A CRM outage leaves the CRM part
queued for `ignite-sync worker` (or the next `forget` of the same person).
"""

from __future__ import annotations

import getpass
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from cli.context import AppContext, console, err_console, get_context
from connector.base import CrmError
from mappings.profile import load_profile
from store.erasure import Subject, allow_reimport, erasure_key_is_set, subject_of
from sync import runner
from sync.erasure import POLICIES, ErasureHandler, ForgetOutcome, forget, refresh, run_erasure_jobs


def _requested_by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error[/red] {message}", highlight=False)
    return typer.Exit(code)


def forget_command(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(metavar="EMAIL|KEY", help="The person's email or participant key.")],
    crm: Annotated[
        str, typer.Option("--crm", help="delete | anonymise (keep the fact of attendance) | keep (leave the CRM).")
    ] = "delete",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be removed; change nothing.")] = False,
    allow_reimport: Annotated[
        bool, typer.Option("--allow-reimport", help="Let an erased person be imported and delivered again.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one machine-readable summary.")] = False,
) -> None:
    """Erase one person everywhere the service put them: the service database now, the CRM by --crm."""
    context: AppContext = get_context(ctx)
    settings = context.settings
    if crm not in POLICIES:
        raise _fail(f"--crm must be one of {', '.join(POLICIES)}")
    if settings.env == "production" and not erasure_key_is_set():
        raise _fail("IGNITE_ERASURE_KEY is not set; IGNITE_ENV=production refuses to erase without it")
    try:
        who = subject_of(subject)
    except ValueError as exc:
        raise _fail(f"EMAIL|KEY: {exc}") from None
    engine = context.migrated_engine()
    if allow_reimport:
        _allow(engine, who, as_json)
        return
    outcome = forget(engine, who, policy=crm, requested_by=_requested_by(), profile=settings.profile, dry_run=dry_run)
    if not dry_run and outcome.job_id is not None:
        profile = load_profile(settings.profile)
        run_erasure_jobs(engine, ErasureHandler(engine, context.wiring.crm_factory(), profile))
        outcome = refresh(engine, outcome)
    synced = None
    if not dry_run and not outcome.crm_queued and outcome.counts:
        synced = _recompute_aggregates(context)
    if as_json:
        print(json.dumps({**outcome.as_dict(), "aggregates_sync": synced}, sort_keys=True, default=str))
    else:
        _print(outcome, synced)
    if outcome.crm_result and outcome.crm_result.get("failed"):
        raise typer.Exit(1)


def _allow(engine: Any, who: Subject, as_json: bool) -> None:
    with engine.begin() as connection:
        done = allow_reimport(connection, who, by=_requested_by(), at=datetime.now(UTC))
    if as_json:
        print(json.dumps({"subject": who.short, "allowed": done}))
    elif done:
        console.print(f"{who.short}: may be imported and delivered again", highlight=False)
    else:
        raise _fail(f"{who.short}: no erasure waits for an override", 1)


def _recompute_aggregates(context: AppContext) -> str | None:
    """Run the incremental sync the erasure queued, so cohort aggregates leave the person out now."""
    wiring = context.wiring
    crm = None
    try:
        crm = wiring.crm_factory()()
        report = runner.run_sync(context.engine, crm, wiring.sync_options())
    except CrmError as exc:
        err_console.print(f"the aggregates sync waits in the queue: the CRM did not answer ({exc})", highlight=False)
        return None
    finally:
        close = getattr(crm, "close", None)
        if callable(close):
            close()
    return report.status


def _print(outcome: ForgetOutcome, synced: str | None) -> None:
    verb = "would remove" if outcome.dry_run else "removed"
    if not outcome.found:
        console.print(
            f"{outcome.subject}: nothing of this person is stored"
            + ("" if outcome.dry_run else f"; erasure record {outcome.erasure_id} refuses a later import of them"),
            highlight=False,
        )
        return
    if not outcome.counts and outcome.job_id is None and not outcome.dry_run:
        console.print(
            f"person {outcome.subject} (keyed hash): already erased (erasure record {outcome.erasure_id}: "
            f"{outcome.status}); nothing changed",
            highlight=False,
        )
        return
    counts = ", ".join(f"{table} {n}" for table, n in sorted(outcome.counts.items())) or "nothing"
    console.print(f"person {outcome.subject} (keyed hash): service database {verb}: {counts}", highlight=False)
    by_object = Counter(r["object"] for r in outcome.crm_records)
    crm = ", ".join(f"{obj} {n}" for obj, n in sorted(by_object.items())) or "none"
    console.print(f"CRM records the sync created for them: {crm}", highlight=False)
    if outcome.intake_records:
        console.print(f"intake submissions (their Lead and Tasks in the CRM): {outcome.intake_records}")
    if outcome.policy == "keep":
        console.print("--crm keep: the CRM is left to the organisation's own process (the Ids above hold them)")
    result = outcome.crm_result
    if result:
        done = {
            what: sum(len(ids) for ids in result.get(what, {}).values())
            for what in ("deleted", "anonymised", "already_gone")
        }
        console.print(
            f"CRM ({result['policy']}): deleted {done['deleted']}, anonymised {done['anonymised']}, "
            f"already gone {done['already_gone']}",
            highlight=False,
        )
        for record in result.get("hand_made", []):
            console.print(f"  made by hand, not touched: {record['object']} {record['id']}", highlight=False)
        for record in result.get("kept", []):
            console.print(f"  kept (anonymised): {record['object']} {record['id']}: {record['why']}", highlight=False)
        for record in result.get("failed", []):
            console.print(
                f"  [red]refused[/red]: {record['object']} {record['id']} ({record['what']}: {record['code']})",
                highlight=False,
            )
    elif outcome.crm_queued:
        console.print(
            f"[yellow]the CRM part is queued[/yellow] (job {outcome.job_id}; {outcome.job_error or 'not run yet'}); "
            "`ignite-sync worker` finishes it, or run this command again",
            highlight=False,
        )
    if outcome.exports_delivered_before:
        delivered = ", ".join(f"{e['funder']} ({e['delivered_at'][:10]})" for e in outcome.exports_delivered_before)
        console.print(f"funder exports delivered before (not recalled): {delivered}", highlight=False)
    if synced:
        more = "" if synced == "succeeded" else "; `ignite-sync status` shows the rows that did not go through"
        console.print(f"cohort aggregates recomputed (sync {synced}{more})")
    if outcome.dry_run:
        console.print("dry run: nothing was changed")
    else:
        console.print(f"erasure record {outcome.erasure_id}: {outcome.status}")
