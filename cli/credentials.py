"""What the credential commands share: the lifetime options and how a credential's dates are shown."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer

from cli.context import err_console
from store.secrets import DEFAULT_LIFETIME

ExpiresIn = Annotated[
    int | None,
    typer.Option(
        "--expires-in",
        metavar="DAYS",
        min=1,
        help=f"Days until it expires (default {DEFAULT_LIFETIME.days}).",
        show_default=False,
    ),
]
NoExpiry = Annotated[bool, typer.Option("--no-expiry", help="Never expires (revoke it by hand).")]


def lifetime(expires_in: int | None, no_expiry: bool) -> timedelta | None:
    if no_expiry and expires_in is not None:
        err_console.print("[red]error[/red] give --expires-in DAYS or --no-expiry, not both")
        raise typer.Exit(2)
    if no_expiry:
        return None
    return timedelta(days=expires_in) if expires_in is not None else DEFAULT_LIFETIME


def when(value: datetime | None, none: str = "-") -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else none


def state(*, revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "live"
