"""What every command needs: the Settings (built once) and the object graph the composition root wires from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import typer
from rich.console import Console
from sqlalchemy import Engine

from connector.base import CrmConnector, CrmError
from settings import Settings, SettingsError, encryption_keyring, load_settings
from store.database import upgrade_database
from store.encryption import install_keyring
from store.erasure import install_erasure_key
from wiring import Wiring

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class AppContext:
    """One command's view of the process: the Settings, the `Wiring` built from them, and what the command
    opened (the service database, the CRM), closed when the command ends."""

    settings: Settings
    wiring: Wiring = field(init=False, repr=False)
    _upgraded: bool = field(default=False, init=False)
    _connector: CrmConnector | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.wiring = Wiring(self.settings)  # a bad setting only the wiring can check raises SettingsError here

    @cached_property
    def engine(self) -> Engine:
        return self.wiring.engine

    def connector(self) -> CrmConnector:
        """The configured CRM, opened once per command; a CRM that cannot be opened ends the command cleanly."""
        if self._connector is None:
            try:
                self._connector = self.wiring.crm_factory()()
            except (CrmError, ValueError) as exc:  # ValueError: the profile's describes do not fit this database
                err_console.print(f"[red]CRM error[/red] {exc}", highlight=False)
                raise typer.Exit(2) from None
        return self._connector

    def close(self) -> None:
        """Hang up the database pool and the CRM when the command ends (Typer calls this on close)."""
        if self._connector is not None:
            close = getattr(self._connector, "close", None)
            if callable(close):
                close()
            self._connector = None
        self.wiring.close()

    def migrated_engine(self) -> Engine:
        """The service database, upgraded to the newest schema first (idempotent, cheap when current)."""
        if not self._upgraded:
            upgrade_database(self.engine)
            self._upgraded = True
        return self.engine


def build_context(**overrides: object) -> AppContext:
    try:
        settings = load_settings(**overrides)
        context = AppContext(settings)
    except SettingsError as exc:
        for line in exc.lines:
            err_console.print(f"[red]setting error[/red] {line}", highlight=False)
        raise typer.Exit(2) from None
    # Every command that reads or writes the inbox (worker, intake review, keys rotate) uses the keys.
    install_keyring(encryption_keyring(settings))
    install_erasure_key(settings.erasure_key.get_secret_value() if settings.erasure_key else None)
    return context


def get_context(ctx: typer.Context) -> AppContext:
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):
        obj = build_context()
        root.obj = obj
        root.call_on_close(obj.close)
    return obj
