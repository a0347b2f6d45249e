"""Salesforce's daily API allocation, read from the `Sforce-Limit-Info` header of every response.

simple-salesforce only records the header on some calls (and on a throwaway SFType object for record calls),
so the connector reads it itself at the transport and keeps the newest value here.  Writes pause once the
used share passes a threshold: a sync that burns the org's last calls locks staff out of their own CRM.
"""

from __future__ import annotations

import re
import threading

from connector.base import ApiUsage

LIMIT_HEADER = "Sforce-Limit-Info"
_API_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(?P<used>\d+)/(?P<total>\d+)")


def parse_limit_info(value: str | None) -> ApiUsage | None:
    """`api-usage=18/5000; per-app-api-usage=…` → ApiUsage(18, 5000); None when the header says nothing usable."""
    if not value:
        return None
    match = _API_USAGE.search(value)
    if match is None:
        return None
    return ApiUsage(used=int(match["used"]), total=int(match["total"]))


class LimitTracker:
    """The newest `api-usage` seen, and whether writes must pause because of it."""

    def __init__(self, pause_share: float) -> None:
        if not 0 < pause_share <= 1:
            raise ValueError(f"limit pause share must be in (0, 1], got {pause_share}")
        self.pause_share = pause_share
        self._usage: ApiUsage | None = None
        self._lock = threading.Lock()

    def observe(self, header_value: str | None) -> None:
        usage = parse_limit_info(header_value)
        if usage is not None:
            with self._lock:
                self._usage = usage

    @property
    def usage(self) -> ApiUsage | None:
        with self._lock:
            return self._usage

    @property
    def pause_reason(self) -> str | None:
        """A sentence for `status` when writes are paused, else None."""
        usage = self.usage
        if usage is None or usage.total <= 0 or usage.share < self.pause_share:
            return None
        return (
            f"writes paused: Salesforce API usage {usage.used:,}/{usage.total:,} ({usage.share:.0%}) is at or above "
            f"the {self.pause_share:.0%} pause threshold (IGNITE_SF_LIMIT_PAUSE_SHARE); they resume when the "
            "rolling 24-hour window frees calls"
        )
