"""`ignite-sync intake …`: helpers for intake senders (sign a body, make secrets and tokens), housekeeping, and
staff review of quarantined submissions (list, show, release with corrections, discard)."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from standardwebhooks import Webhook

from cli.context import console, err_console, get_context
from mappings.profile import load_profile
from models.common import UsState
from store.intake import InboxEntry, InboxRepository
from sync.intake import ReleaseRefused, discard_quarantined, release_quarantined
from webhooks.form_pages import snippet_html
from webhooks.verify import token_hash

app = typer.Typer(
    rich_markup_mode=None,
    help="Intake webhook helpers (sign, new-secret, new-token, form-snippet, purge) and quarantine review "
    "(quarantined, show, release, discard).",
    no_args_is_help=True,
)


@app.command()
def sign(
    body_file: Annotated[
        Path | None, typer.Argument(metavar="FILE", help="The exact body to send; '-' or nothing reads stdin.")
    ] = None,
    secret: Annotated[
        str | None, typer.Option(envvar="IGNITE_INTAKE_SECRET", help="The source's whsec_ secret.")
    ] = None,
    msg_id: Annotated[str | None, typer.Option("--id", help="webhook-id (default: a new msg_<uuid>).")] = None,
) -> None:
    """Print curl -H arguments with Standard Webhooks headers for the body (signed by the standardwebhooks library).

    Example: curl -X POST $URL -H 'content-type: application/json' $(ignite-sync intake sign body.json) \\
    --data-binary @body.json
    """
    if not secret:
        err_console.print("[red]error[/red] give --secret or set IGNITE_INTAKE_SECRET")
        raise typer.Exit(2)
    data = sys.stdin.buffer.read() if body_file is None or body_file == Path("-") else body_file.read_bytes()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, data.decode("utf-8"))
    console.print(
        f"-H webhook-id:{msg_id} -H webhook-timestamp:{int(now.timestamp())} -H webhook-signature:{signature}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("new-secret")
def new_secret() -> None:
    """A fresh Standard Webhooks secret (whsec_ + 32 random bytes) for a source's `secrets` list."""
    console.print("whsec_" + base64.b64encode(os.urandom(32)).decode(), highlight=False)


@app.command("new-token")
def new_token() -> None:
    """A random token for a `token` source: give the token to the sender, put the hash in `token_hashes`."""
    token = secrets.token_urlsafe(32)
    console.print(f"token: {token}\nhash:  {token_hash(token)}", highlight=False, soft_wrap=True)


@app.command("form-snippet")
def form_snippet(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="A browser source in IGNITE_INTAKE_SOURCES.")],
    url: Annotated[
        str, typer.Option(help="The service's public base URL, as the website's visitors reach it.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print the HTML a webmaster pastes into their page: a plain form posting to the service, honeypot included.

    A few lines of script fetch a signed form token when the page loads; with scripts off the form still posts
    and the submission waits in quarantine for review. The page's origin must be in the source's
    allowed_origins. Prefer an iframe? Embed <URL>/forms/SOURCE instead.
    """
    sources = get_context(ctx).wiring.intake_sources
    config = sources.get(source)
    if config is None or config.scheme != "browser":
        browser = sorted(name for name, c in sources.items() if c.scheme == "browser")
        err_console.print(
            f"[red]error[/red] {source!r} is not a browser intake source (browser sources: "
            f"{', '.join(browser) or 'none configured'})",
            highlight=False,
        )
        raise typer.Exit(2)
    sys.stdout.write(snippet_html(source, config, url))


@app.command()
def purge(
    ctx: typer.Context,
    days: Annotated[int | None, typer.Option(help="Retention in days (default IGNITE_INTAKE_RETENTION_DAYS).")] = None,
) -> None:
    """Drop raw bodies and submissions of settled intake rows older than the retention period.

    Quarantined rows are kept until staff release or discard them, unless IGNITE_INTAKE_QUARANTINE_RETENTION_DAYS
    is set (then unreviewed ones older than that are purged and marked discarded)."""
    context = get_context(ctx)
    retention = timedelta(days=days if days is not None else context.settings.intake_retention_days)
    quarantine_days = context.settings.intake_quarantine_retention_days
    with context.migrated_engine().begin() as connection:
        purged = InboxRepository(connection).purge_bodies(
            older_than=retention,
            quarantined_older_than=timedelta(days=quarantine_days) if quarantine_days else None,
        )
    console.print(f"purged the bodies of {purged} settled intake submissions older than {retention.days} days")


# ------------------------------------------------------------------------------------------ quarantine review


def _entry_or_exit(ctx: typer.Context, inbox_id: int) -> InboxEntry:
    with get_context(ctx).migrated_engine().connect() as connection:
        entry = InboxRepository(connection).get(inbox_id)
    if entry is None:
        err_console.print(f"[red]error[/red] no intake submission has id {inbox_id}")
        raise typer.Exit(1)
    return entry


def _candidate_email(entry: InboxEntry) -> str:
    value = (entry.candidate or entry.submission or {}).get("email")
    return value if isinstance(value, str) else ""


# Closed vocabularies a listing names in words rather than by enumerating them.
_VOCABULARIES = {frozenset(code.value for code in UsState): "not a US state code"}
_CHOICES = re.compile(r"'([^']*)'")
BRIEF_RULE_CHARS = 60


def brief_rule(rule: str) -> str:
    """A problem's rule in a few words for the list (`state: not a US state code`, not 56 codes); the full
    text stays on the row and in `intake show`."""
    if rule.startswith("Input should be "):
        choices = _CHOICES.findall(rule)
        if len(choices) > 4:
            return _VOCABULARIES.get(frozenset(choices), f"not one of the {len(choices)} allowed values")
    return rule if len(rule) <= BRIEF_RULE_CHARS else rule[: BRIEF_RULE_CHARS - 1] + "…"


def brief_reason(entry: InboxEntry) -> str:
    """`InboxEntry.reason` with each rule shortened: the code, then field and brief rule (no values)."""
    if entry.quarantine_reason is None:
        return ""
    problems = "; ".join(f"{p.get('field')}: {brief_rule(str(p.get('rule')))}" for p in entry.quarantine_problems or [])
    return f"{entry.quarantine_reason} ({problems})" if problems else entry.quarantine_reason


@app.command()
def quarantined(
    ctx: typer.Context,
    show_personal: Annotated[
        bool, typer.Option("--show-personal", help="Also show the email address (personal data).")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, oldest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Submissions accepted but held back from the CRM (failed validation, or a filled honeypot).

    Shows id, source, when it arrived, the reason (fields and rules in a few words, no values; `show ID` and
    --json give each rule in full) and the email's hash; the email itself only with --show-personal.  Review
    one with `show ID`, then `release ID` or `discard ID`."""
    with get_context(ctx).migrated_engine().connect() as connection:
        entries = InboxRepository(connection).quarantined(limit=limit)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        row: dict[str, Any] = {
            "id": entry.id,
            "source": entry.source,
            "received_at": entry.received_at.isoformat(timespec="seconds"),
            "reason": entry.reason,
            "email_hash": entry.email_hash or "",
        }
        if show_personal:
            row["email"] = _candidate_email(entry)
        rows.append(row)
    if as_json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return
    for row, entry in zip(rows, entries, strict=True):
        row["reason"] = brief_reason(entry)
    if not rows:
        console.print("no quarantined intake submissions")
        return
    table = Table(title=f"{len(rows)} quarantined intake submission(s)")
    for name in rows[0]:
        table.add_column(name.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(escape(str(value)) for value in row.values()))  # sender text is not markup
    console.print(table)


@app.command()
def show(
    ctx: typer.Context,
    inbox_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `intake quarantined`.")],
    raw: Annotated[bool, typer.Option("--raw", help="Also print the raw body exactly as it was received.")] = False,
) -> None:
    """One intake submission for review: status, reason, the fields read from the body, ignored field names.

    This is the review screen, so it shows the submitted values (personal data) on the terminal; nothing of
    it is logged."""
    entry = _entry_or_exit(ctx, inbox_id)
    lines = [
        f"id: {entry.id}  receipt: {entry.receipt_id}",
        f"source: {entry.source}  delivery: {entry.delivery_id}",
        f"received: {entry.received_at.isoformat(timespec='seconds')}  content type: {entry.content_type}",
        f"status: {entry.status}" + (f"  (job {entry.job_id})" if entry.job_id else ""),
    ]
    if entry.quarantine_reason:
        lines.append(f"quarantine reason: {entry.quarantine_reason}")
        lines.extend(f"  problem: {p.get('field')}: {p.get('rule')}" for p in entry.quarantine_problems or [])
    if entry.ignored_fields:
        lines.append(f"ignored fields (kept only in the raw body): {', '.join(entry.ignored_fields)}")
    if entry.reviewed_at:
        lines.append(f"reviewed: {entry.reviewed_at.isoformat(timespec='seconds')}  note: {entry.review_note or ''}")
    if entry.body_purged_at:
        lines.append(f"body purged: {entry.body_purged_at.isoformat(timespec='seconds')}")
    fields = entry.candidate if entry.candidate is not None else entry.submission
    if fields:
        lines.append("fields:")
        lines.extend(f"  {name}: {json.dumps(value, ensure_ascii=False)}" for name, value in sorted(fields.items()))
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)
    if raw and entry.raw_body is not None:
        console.print(entry.raw_body.decode("utf-8", errors="replace"), highlight=False, markup=False)


def _corrections(pairs: list[str]) -> dict[str, Any]:
    corrections: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            err_console.print(f"[red]error[/red] --set takes field=value, got {pair.split('=')[0]!r}…")
            raise typer.Exit(2)
        corrections[name.strip()] = value
    return corrections


@app.command()
def release(
    ctx: typer.Context,
    inbox_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `intake quarantined`.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Correct a field: field=value; field= clears it. Repeatable."),
    ] = None,
    truncate: Annotated[
        bool, typer.Option("--truncate", help="Cut text longer than its field allows (the raw body keeps it all).")
    ] = False,
    note: Annotated[str | None, typer.Option(help="Why it was released (kept on the row).")] = None,
) -> None:
    """Validate a quarantined submission again (with corrections) and, if it passes, queue it for the CRM.

    Releasing an already released submission changes nothing and queues nothing.  When it still does not
    validate, the problems are printed and it stays quarantined (exit 1)."""
    context = get_context(ctx)
    try:
        result = release_quarantined(
            context.migrated_engine(),
            inbox_id,
            corrections=_corrections(set_ or []),
            truncate=truncate,
            note=note,
            profile=load_profile(context.settings.profile),
        )
    except ReleaseRefused as exc:
        err_console.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    if result.truncated:
        console.print(f"truncated to their limits: {', '.join(result.truncated)}", highlight=False)
    if result.problems:
        err_console.print(f"submission {inbox_id} still does not validate; it stays quarantined:", highlight=False)
        for problem in result.problems:
            err_console.print(f"  {problem.field}: {problem.rule}", highlight=False, markup=False)
        raise typer.Exit(1)
    if result.released:
        console.print(f"submission {inbox_id} released: pending, queued for delivery to the CRM", highlight=False)
    else:
        console.print(f"submission {inbox_id} is already {result.status}; nothing queued", highlight=False)


@app.command()
def discard(
    ctx: typer.Context,
    inbox_ids: Annotated[list[int], typer.Argument(metavar="ID...", help="Ids from `intake quarantined`.")],
    reason: Annotated[str, typer.Option(help="Why (spam, test post…); kept on the row.")],
) -> None:
    """Mark quarantined submissions as not leads.  They are never delivered; their bodies are purged after
    IGNITE_INTAKE_RETENTION_DAYS like delivered ones."""
    engine = get_context(ctx).migrated_engine()
    missed = []
    for inbox_id in inbox_ids:
        if discard_quarantined(engine, inbox_id, reason=reason):
            console.print(f"submission {inbox_id} discarded", highlight=False)
        else:
            missed.append(inbox_id)
    if missed:
        err_console.print(f"not quarantined (or no such id), left as they were: {', '.join(map(str, missed))}")
        raise typer.Exit(1)
