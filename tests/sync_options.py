"""The sync options and housekeeping tests run with: what the service uses with its default settings."""

from __future__ import annotations

from functools import cache
from typing import Any

from settings import load_settings
from sync.maintenance import Housekeeping
from sync.options import SyncOptions
from wiring import Wiring


@cache
def _wiring(profile: str | None) -> Wiring:
    return Wiring(load_settings() if profile is None else load_settings(profile=profile))


def options(profile: str | None = None, **run: Any) -> SyncOptions:
    """`Wiring.sync_options` with default settings (IGNITE_PROFILE's default unless `profile`), and this run's
    choices (`full=True`, `only=[...]`, `min_respondents=1`, …)."""
    return _wiring(profile).sync_options(**run)


def housekeeping(profile: str | None = None) -> Housekeeping:
    """`Wiring.housekeeping` with default settings: the retention the service keeps (there is no other default)."""
    return _wiring(profile).housekeeping()
