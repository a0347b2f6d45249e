"""What a sync and a worker run with, as two frozen values the composition root builds from Settings.

Plain dataclasses with no imports of the engine, so `wiring.py` can name them without loading the engine, the
mappings or a CRM adapter into the web process.  The fields that come from a setting have no default here:
the defaults live in settings.py only, and every sync is told its profile and its suppression threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sync.retry import RetryPolicy


@dataclass(frozen=True)
class SyncOptions:
    """One sync: what the service is configured for (from Settings), then what this run asks for."""

    profile: str  # IGNITE_PROFILE
    min_respondents: int  # IGNITE_CRM_MIN_RESPONDENTS: cohort aggregates of fewer respondents are written blank
    individual_responses: bool  # IGNITE_CRM_INDIVIDUAL_RESPONSES
    # Issue and run records in the CRM for development staff (IGNITE_CRM_SYNC_HEALTH), at most this many
    # issue records per run (IGNITE_CRM_SYNC_HEALTH_MAX_ISSUES).
    sync_health: bool
    max_issues: int
    chunk_size: int = 2000  # rows planned and committed together
    batch_size: int = 200  # records per CRM call (one sObject Collections request)
    # This run: resend everything, plan only, only these objects or steps.
    full: bool = False
    dry_run: bool = False
    only: Sequence[str] | None = None
    # Transient failures are retried in further rounds (each sends only what is pending), at most this many.
    max_rounds: int = 5
    retry: RetryPolicy | None = None  # waits between rounds (default: 0.5 s doubling to 10 s)

    @property
    def flags(self) -> list[str]:
        """The profile flags these options switch on."""
        return ["individual_responses"] if self.individual_responses else []


@dataclass(frozen=True)
class WorkerOptions:
    """How workers run the queue (`ignite-sync worker`'s options); what each job does is in its handler."""

    concurrency: int = 1  # threads; SQLite serves one
    once: bool = False  # run until nothing is due, then return
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    reconcile_every: timedelta | None = timedelta(hours=24)  # None: never queue a periodic reconcile
    housekeeping_every: timedelta | None = timedelta(hours=1)
    retry: RetryPolicy | None = None  # job backoff (default: the worker's)
