"""What the engine runs: a profile's steps, each with the source of its candidate rows.

Kept apart from the engine so the modules the engine is made of (sync/entries.py, sync/targets.py,
sync/send.py) and the module building the steps (sync/profiles.py) name them without importing the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from sync.plan import Candidate


@dataclass(frozen=True)
class StepDef:
    """One step of a profile as the engine needs it (built from the mapping profile by `sync.profiles`)."""

    name: str
    object_name: str
    key_field: str
    parents: tuple[str, ...] = ()  # steps this one references
    match_field: str | None = None  # e.g. Email on Contact/Lead: adopt existing people before creating
    fingerprint: str = ""  # changes when the step's definition changes (forces payloads to be rebuilt)


class StepSource(Protocol):
    """Where a step's candidate rows come from (program records, or records derived from them)."""

    def total(self, engine: Engine) -> int | None:
        """How many rows the step covers (for progress bars); None if unknown."""
        ...

    def fresh_count(self, engine: Engine) -> int:
        """Rows known unchanged without building their payload (the ledger's fast path); 0 if not supported."""
        ...

    def candidates(self, engine: Engine, *, full: bool) -> Iterator[Candidate]:
        """Candidate rows in a stable order; on incremental runs the source may leave out known-fresh rows."""
        ...


@dataclass(frozen=True)
class PlannedStep:
    step: StepDef
    source: StepSource
