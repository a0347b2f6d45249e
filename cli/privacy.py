"""`ignite-sync privacy inventory`: where the service keeps and sends personal data, and for how long."""

from __future__ import annotations

import sys

import typer

from store.inventory import render

app = typer.Typer(
    rich_markup_mode=None,
    help="Personal data: what the service holds about people, where it sends it, and how it is erased.",
    no_args_is_help=True,
)


@app.command("inventory")
def inventory_command() -> None:
    """Print where personal data is kept and sent, as Markdown.

    Every column holding personal data, whether it is encrypted at rest, how long it is kept, who can read it
    and how it is erased; then every place it is sent.  Generated from the tables' own annotations: the same
    text as the README's section."""
    sys.stdout.write(render())
