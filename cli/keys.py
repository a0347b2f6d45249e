"""`ignite-sync keys new | rotate`: the keys that encrypt intake submissions at rest (IGNITE_ENCRYPTION_KEYS)."""

from __future__ import annotations

from typing import Annotated

import typer

# Every table module, so `rotate` covers every encrypted column (the inbox's, and the job and ledger messages).
import store.intake_tables
import store.jobs_tables  # noqa: F401
from cli.context import console, err_console, get_context
from store.encryption import SETTING, EncryptionKeyError, installed_keyring, new_key
from store.reencrypt import encrypted_tables, reencrypt_batch
from store.tables import metadata

app = typer.Typer(
    rich_markup_mode=None,
    help=f"Encryption keys for personal data at rest ({SETTING}, newest first).",
    no_args_is_help=True,
)


@app.command("new")
def new_command() -> None:
    """Print a new random key.  Put it first in IGNITE_ENCRYPTION_KEYS (keep the old ones after it), restart the
    service and the worker, then run `ignite-sync keys rotate`."""
    print(new_key())


@app.command("rotate")
def rotate_command(
    ctx: typer.Context,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows re-encrypted per transaction.")] = 500,
) -> None:
    """Re-encrypt every stored personal value under the newest key (plaintext rows too), a batch per commit.

    Safe to stop and run again: rows already on the newest key are skipped.  When it reports 0 left to do,
    the older keys can be removed from IGNITE_ENCRYPTION_KEYS."""
    context = get_context(ctx)
    keyring = installed_keyring()
    if keyring is None:
        err_console.print(f"[red]error[/red] {SETTING} is not set: there is no key to encrypt with", highlight=False)
        raise typer.Exit(1)
    engine = context.migrated_engine()
    total = 0
    try:
        for table, columns in encrypted_tables(metadata):
            after = None
            scanned = rewritten = 0
            while True:
                with engine.begin() as connection:
                    batch = reencrypt_batch(connection, table, columns, keyring, after=after, limit=batch_size)
                if batch.last_key is None:
                    break
                after = batch.last_key
                scanned += batch.scanned
                rewritten += batch.rewritten
            total += rewritten
            console.print(f"{table.name}: {rewritten} of {scanned} rows re-encrypted under key {keyring.current}")
    except EncryptionKeyError as exc:
        err_console.print(f"[red]error[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"done: {total} rows re-encrypted; everything is under key {keyring.current}")
