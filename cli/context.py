"""What every command needs: the Settings (built once) and the engines derived from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import typer
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy import Engine

from connector.base import CrmConnector, CrmError, FatalCrmError, TransientCrmError
from settings import Settings, SettingsError, encryption_keyring, load_settings
from store.database import make_engine, upgrade_database
from store.encryption import install_keyring

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class AppContext:
    settings: Settings
    _upgraded: bool = field(default=False, init=False)
    _connector: CrmConnector | None = field(default=None, init=False)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    def connector(self) -> CrmConnector:
        """The configured CRM, opened once per command; a CRM that cannot be opened ends the command cleanly."""
        if self._connector is None:
            try:
                self._connector = build_connector(self.settings)
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
        if "engine" in self.__dict__:
            self.engine.dispose()

    def migrated_engine(self) -> Engine:
        """The service database, upgraded to the newest schema first (idempotent, cheap when current)."""
        if not self._upgraded:
            upgrade_database(self.engine)
            self._upgraded = True
        return self.engine


def build_connector(settings: Settings) -> CrmConnector:
    """The one place that chooses the CRM adapter from Settings (IGNITE_CRM)."""
    if settings.crm == "local":
        from connector.local import LocalCrm
        from mappings.snapshots import load_describes

        # The local CRM is whatever the profile's org would be: create it on first use, and grow its schema
        # when the profile's snapshots gained objects or fields (existing records are kept).
        return LocalCrm.create_database(
            settings.local_crm_url,
            load_describes(settings.profile),
            state_country_picklists=settings.local_state_country_picklists,
        )
    from connector.salesforce import build_salesforce_connector

    def secret(value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()

    try:
        return build_salesforce_connector(
            auth=settings.sf_auth,
            username=settings.sf_username,
            password=secret(settings.sf_password),
            security_token=secret(settings.sf_security_token),
            domain=settings.sf_domain,
            api_version=settings.sf_api_version,
            consumer_key=settings.sf_consumer_key,
            private_key_file=settings.sf_private_key_file,
            session_id=secret(settings.sf_session_id),
            instance_url=settings.sf_instance_url,
            ca_bundle=settings.sf_ca_bundle,
            bulk_threshold=settings.sf_bulk_threshold,
            limit_pause_share=settings.sf_limit_pause_share,
            timeout=settings.sf_timeout,
        )
    except ValueError as exc:
        raise CrmError(str(exc), code="NOT_CONFIGURED") from None


def local_crm_factory(url: str) -> Callable[[], CrmConnector]:
    """Open the existing embedded CRM per intake job.  A database that cannot be opened right now (volume
    remounting, file being restored) is an outage, not a verdict, and never a reason to start an empty CRM:
    TransientCrmError, so intake jobs wait and retry."""

    def connect() -> CrmConnector:
        from connector.local import LocalCrm

        try:
            return LocalCrm.open(url)
        except FatalCrmError as exc:
            raise TransientCrmError(f"the local CRM is unavailable: {exc}", code=exc.code) from exc

    return connect


def build_context(**overrides: object) -> AppContext:
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        for line in exc.lines:
            err_console.print(f"[red]setting error[/red] {line}", highlight=False)
        raise typer.Exit(2) from None
    # Every command that reads or writes the inbox (worker, intake review, keys rotate) uses the keys.
    install_keyring(encryption_keyring(settings))
    return AppContext(settings)


def get_context(ctx: typer.Context) -> AppContext:
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):
        obj = build_context()
        root.obj = obj
        root.call_on_close(obj.close)
    return obj
