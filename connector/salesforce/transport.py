"""The requests Session every Salesforce call goes through: TLS trust, a default timeout, call counting, limits.

simple-salesforce passes its `session` to REST, Bulk 2.0 and login alike, so one HTTPAdapter here sees every
request: it applies the client timeout (requests has no session-wide timeout), counts each attempt by kind
for `CallCounter`, and reads `Sforce-Limit-Info` from every response, error responses included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from connector.base import CallCounter
from connector.salesforce.limits import LIMIT_HEADER, LimitTracker


def call_kind(url: str) -> str:
    """The counter bucket for one request: login, bulk, collections, query or rest."""
    path = urlsplit(url).path
    if "/services/Soap/" in path or "/services/oauth2/" in path:
        return "login"
    if "/jobs/ingest" in path:
        return "bulk"
    if "/composite/" in path:
        return "collections"
    if "/query" in path:
        return "query"
    return "rest"


class SalesforceAdapter(HTTPAdapter):
    """Counts every attempt, applies the default timeout, and records API usage from each response."""

    def __init__(
        self, *, timeout: float, counter: CallCounter, tracker: LimitTracker, ca_bundle: Path | None = None
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.counter = counter
        self.tracker = tracker

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.ca_bundle is not None:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `session.verify`; the CA the operator
            # named in IGNITE_SF_CA_BUNDLE must win, so it is applied here, after that merge.
            kwargs["verify"] = str(self.ca_bundle)
        self.counter.add(call_kind(request.url or ""))
        response = super().send(request, *args, **kwargs)
        self.tracker.observe(response.headers.get(LIMIT_HEADER))
        return response

    def close(self) -> None:
        """Close the pooled connections now, not whenever their pools are garbage-collected.

        urllib3's `PoolManager.clear()` (what requests' `close()` calls) only forgets its pools; their sockets
        close when a pool is finalized.  A failed call's exception keeps its response, and with it the pool,
        alive in a reference cycle, so after an outage the sockets stayed open until a garbage collection.
        """
        pools = self.poolmanager.pools
        for key in list(pools.keys()):
            pool = pools.get(key)
            if pool is not None:
                pool.close()
        super().close()


def make_http_session(
    *, timeout: float, counter: CallCounter, tracker: LimitTracker, ca_bundle: Path | None = None
) -> requests.Session:
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise ValueError(f"IGNITE_SF_CA_BUNDLE: no CA bundle file at {ca_bundle}")
    session = requests.Session()
    session.mount("https://", SalesforceAdapter(timeout=timeout, counter=counter, tracker=tracker, ca_bundle=ca_bundle))
    if ca_bundle is not None:
        session.verify = str(ca_bundle)
    return session
