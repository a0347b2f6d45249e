"""What every command needs: the Settings (built once) and the engines derived from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import typer
from rich.console import Console
from sqlalchemy import Connection, Engine

from settings import Settings, SettingsError, load_settings
from store.database import make_engine, upgrade_database
from store.repository import UpsertCounts

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class AppContext:
    settings: Settings
    _upgraded: bool = field(default=False, init=False)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    def after_import_batch(self, connection: Connection, counts: UpsertCounts) -> None:
        """Runs inside each import batch's transaction; the sync engine hooks its job in here."""

    def migrated_engine(self) -> Engine:
        """The service database, upgraded to the newest schema first (idempotent, cheap when current)."""
        if not self._upgraded:
            upgrade_database(self.engine)
            self._upgraded = True
        return self.engine


def build_context(**overrides: object) -> AppContext:
    try:
        return AppContext(load_settings(**overrides))
    except SettingsError as exc:
        for line in exc.lines:
            err_console.print(f"[red]setting error[/red] {line}", highlight=False)
        raise typer.Exit(2) from None


def get_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = build_context()
        ctx.find_root().obj = obj
    return obj
