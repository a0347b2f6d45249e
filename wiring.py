"""The composition root: the one place that turns Settings into the objects both doors run on.

`service.create_app()` (the web process) and the CLI (`cli/context.py`) each build one `Wiring` from Settings
and take what they need from it: the service database engine, the intake sources, the CRM (the embedded local
CRM, or a Salesforce org or the sandbox standing in for one, chosen by IGNITE_CRM), the sync options and the
worker's job handlers.  Nothing below this file chooses an adapter or holds a default of its own.

The CRM adapters, the sync engine and the job handlers are imported inside the methods that build them: the
web process imports this module and must load none of them, nor the CLI (tests/unit/test_architecture.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from sqlalchemy import Engine

from connector.base import CrmConnector, CrmError, FatalCrmError, TransientCrmError
from settings import Settings, SettingsError
from store.database import make_engine
from sync.options import SyncOptions
from webhooks.sources import IntakeSource, parse_sources

if TYPE_CHECKING:
    from connector.local import LocalCrm
    from sync.maintenance import Housekeeping
    from sync.worker import Handler

CrmFactory = Callable[[], CrmConnector]


class Wiring:
    """The object graph of one process, built from Settings once.

    Cheap to build: the engine is made on first use and each CRM is opened by its factory when called, so a
    command that needs neither touches neither.  `engine` lets a test (or the demo) hand in its own database.
    """

    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        self.settings = settings
        self.intake_sources = intake_sources(settings)
        self._engine = engine
        self._owns_engine = engine is None

    @property
    def engine(self) -> Engine:
        """The service database (`IGNITE_DATABASE_URL`), made on first use; not migrated here."""
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def close(self) -> None:
        """Hang up the database pool, if this wiring made it."""
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # The CRM -----------------------------------------------------------------------------------------------

    def crm_factory(self, profile: str | None = None) -> CrmFactory:
        """Opens the configured CRM when called (IGNITE_CRM): the local CRM, created or grown from the profile's
        describe snapshots, or a Salesforce org (the sandbox is one, reached over HTTPS with its CA bundle).
        A CRM that cannot be configured raises CrmError; a profile the local CRM cannot hold, ValueError."""
        chosen = self.settings if profile is None else self.settings.model_copy(update={"profile": profile})
        return lambda: build_connector(chosen)

    def local_crm(self, url: str | None = None, profile: str | None = None) -> LocalCrm:
        """The embedded CRM at `url` (default IGNITE_LOCAL_CRM_URL) holding the profile's org, created on first
        use and grown when the profile's snapshots gained objects or fields (existing records are kept).  The
        sandbox serves one of these as a Salesforce org."""
        settings = self.settings
        return open_local_crm(
            url or settings.local_crm_url,
            profile or settings.profile,
            state_country_picklists=settings.local_state_country_picklists,
        )

    def intake_crm_factory(self) -> CrmFactory:
        """The CRM intake deliveries open.  For the local CRM: the existing file, opened per job, never created,
        so a file that is missing or being restored is an outage intake jobs wait out (TransientCrmError), not
        a reason to deliver leads into a fresh, empty CRM."""
        if self.settings.crm != "local":
            return self.crm_factory()
        url = self.settings.local_crm_url

        def connect() -> CrmConnector:
            from connector.local import LocalCrm

            try:
                return LocalCrm.open(url)
            except FatalCrmError as exc:
                raise TransientCrmError(f"the local CRM is unavailable: {exc}", code=exc.code) from exc

        return connect

    # The sync and the worker -------------------------------------------------------------------------------

    def sync_options(self, profile: str | None = None, **run: Any) -> SyncOptions:
        """The sync the settings configure (for `profile`, default IGNITE_PROFILE); `run` sets this run's
        choices (`full`, `dry_run`, `only`, `chunk_size`, …)."""
        settings = self.settings
        options = SyncOptions(
            profile=profile or settings.profile,
            min_respondents=settings.crm_min_respondents,
            individual_responses=settings.crm_individual_responses,
            sync_health=settings.crm_sync_health,
            max_issues=settings.crm_sync_health_max_issues,
        )
        return replace(options, **run)

    def housekeeping(self) -> Housekeeping:
        """The periodic clean-up with the settings' retention periods."""
        from datetime import timedelta

        from sync.maintenance import Housekeeping

        settings = self.settings
        quarantined = settings.intake_quarantine_retention_days
        return Housekeeping(
            profile=settings.profile,
            keep_intake_bodies=timedelta(days=settings.intake_retention_days),
            keep_quarantined=timedelta(days=quarantined) if quarantined else None,
        )

    @contextmanager
    def job_handlers(self, engine: Engine, options: SyncOptions | None = None) -> Iterator[dict[str, Handler]]:
        """Every job kind the worker runs, and what runs it; closes what the handlers keep open on exit.

        To add a job kind, add one line to `handlers` below (`KIND: handler`); a handler with a `close()`
        is closed when the worker stops.
        """
        from mappings.profile import load_profile
        from sync.erasure import ERASURE_JOB, ErasureHandler
        from sync.intake import INTAKE_JOB, IntakeHandler
        from sync.runner import make_handlers

        options = options or self.sync_options()
        local = self.settings.crm == "local"
        # Salesforce sessions are kept per worker thread (one login for a burst of leads); the local CRM's file is
        # opened per job, so a file replaced underneath the worker is never written through a stale handle.
        intake = IntakeHandler(
            engine, self.intake_crm_factory(), load_profile(options.profile), keep_connector=not local
        )
        handlers: dict[str, Handler] = {
            **make_handlers(engine, self.crm_factory(options.profile), options, self.housekeeping()),
            INTAKE_JOB: intake,
            # The CRM part of `ignite-sync forget`, opened per job like the local CRM's intake.
            ERASURE_JOB: ErasureHandler(engine, self.intake_crm_factory(), load_profile(options.profile)),
        }
        try:
            yield handlers
        finally:
            for handler in handlers.values():
                close = getattr(handler, "close", None)
                if callable(close):
                    close()


def intake_sources(settings: Settings) -> dict[str, IntakeSource]:
    """IGNITE_INTAKE_SOURCES as checked sources; a bad one is a SettingsError naming the variable and the rule."""
    try:
        return parse_sources(settings.intake_sources)
    except ValueError as exc:
        raise SettingsError([f"IGNITE_INTAKE_SOURCES: {exc}"]) from None


def build_connector(settings: Settings) -> CrmConnector:
    """The one place that chooses the CRM adapter from Settings (IGNITE_CRM)."""
    if settings.crm == "local":
        return open_local_crm(
            settings.local_crm_url, settings.profile, state_country_picklists=settings.local_state_country_picklists
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


def open_local_crm(url: str, profile: str, *, state_country_picklists: bool = True) -> LocalCrm:
    """The embedded CRM at `url`, created from the profile's describe snapshots (with their record types), or
    grown to them; `state_country_picklists` applies when its database is created."""
    from connector.local import LocalCrm
    from mappings.snapshots import load_describes

    return LocalCrm.create_database(url, load_describes(profile), state_country_picklists=state_country_picklists)
