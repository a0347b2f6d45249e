"""`ignite-sync intake …`: helpers for intake senders (sign a body, make secrets and tokens) and housekeeping."""

from __future__ import annotations

import base64
import os
import secrets
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from standardwebhooks import Webhook

from cli.context import console, err_console, get_context
from store.intake import InboxRepository
from webhooks.verify import token_hash

app = typer.Typer(help="Intake webhook helpers: sign, new-secret, new-token, purge.", no_args_is_help=True)


@app.command()
def sign(
    body_file: Annotated[
        Path | None, typer.Argument(help="The exact body to send; '-' or nothing reads stdin.")
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


@app.command()
def purge(
    ctx: typer.Context,
    days: Annotated[int | None, typer.Option(help="Retention in days (default IGNITE_INTAKE_RETENTION_DAYS).")] = None,
) -> None:
    """Drop raw bodies and submissions of settled intake rows older than the retention period."""
    context = get_context(ctx)
    retention = timedelta(days=days if days is not None else context.settings.intake_retention_days)
    with context.migrated_engine().begin() as connection:
        purged = InboxRepository(connection).purge_bodies(older_than=retention)
    console.print(f"purged the bodies of {purged} settled intake submissions older than {retention.days} days")
