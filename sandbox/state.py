"""What one running sandbox remembers: its settings, the CRM it serves, sessions, API usage and the fault plan.

It lives apart from the routes so that every route module (and `bulk.py`) can depend on it without
depending on each other or on the app that assembles them.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from connector.base import CrmConnector, QueryPage
from sandbox.faults import FaultPlan

DATA_PREFIX = "/services/data/"
DATA = DATA_PREFIX + "{version}"  # the path every REST route hangs off (`version` is e.g. v59.0)
ORG_ID = "00D000000000001AAA"
USER_ID = "005000000000001AAA"


@dataclass
class SandboxConfig:
    username: str = "sandbox@ignite.example"
    password: str = "sandbox-password"  # noqa: S105 - a loopback test org's documented credential
    security_token: str = "TOKEN"  # noqa: S105
    session_id: str | None = None  # a fixed session id to accept (the CLI prints it for IGNITE_SF_SESSION_ID)
    daily_limit: int = 100_000
    slow_seconds: float = 3.0
    bulk_chunk: int = 1000


class PagingCrm(CrmConnector, Protocol):
    """The CRM port plus server-side query cursors, which the sandbox serves as `query` and `nextRecordsUrl`
    (LocalCrm has both: its pages and locators are Salesforce's, so the sandbox keeps no cursors of its own)."""

    def query_page(self, soql: str, *, include_deleted: bool = False) -> QueryPage: ...

    def query_more(self, locator: str) -> QueryPage: ...


@dataclass
class SandboxState:
    crm: PagingCrm
    config: SandboxConfig
    faults: FaultPlan = field(default_factory=FaultPlan)
    used: int = 0

    def __post_init__(self) -> None:
        self.crm_lock = threading.RLock()
        self.sessions: set[str] = set()
        self.logins = 0  # sessions issued: what Salesforce counts against a user's hourly login allowance
        if self.config.session_id:
            self.sessions.add(self.config.session_id)
        self._usage_lock = threading.Lock()

    # -- quota ---------------------------------------------------------------------------------------------

    def count_call(self) -> int:
        with self._usage_lock:
            self.used += 1
            return self.used

    def limit_header(self) -> str:
        return f"api-usage={min(self.used, self.config.daily_limit)}/{self.config.daily_limit}"

    # -- sessions ------------------------------------------------------------------------------------------

    def new_session(self) -> str:
        sid = f"{ORG_ID[:15]}!{secrets.token_urlsafe(32)}"
        with self._usage_lock:
            self.logins += 1
        self.sessions.add(sid)
        return sid

    # -- CRM access ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[PagingCrm]:
        """One request at a time touches the CRM: it is a SQLite file, and Salesforce serialises locks anyway."""
        with self.crm_lock:
            yield self.crm

    def type_of(self, object_name: str) -> dict[str, str]:
        with self.locked() as crm:
            describe = crm.describe(object_name)
        return {f["name"]: f.get("type", "string") for f in describe.get("fields", [])}


def object_of_id(crm: CrmConnector, record_id: str) -> str | None:
    """Which object a bare Id belongs to, by its key prefix: the CRM knows (`object_for_id`), or its describes do."""
    finder = getattr(crm, "object_for_id", None)
    if finder is not None:
        found = finder(record_id)
        return None if found is None else str(found)
    names = getattr(crm, "object_names", None)
    for name in names() if names is not None else []:
        if crm.describe(name).get("keyPrefix") == record_id[:3]:
            return str(name)
    return None
