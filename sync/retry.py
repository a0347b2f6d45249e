"""When a failed job runs again: exponential backoff with full jitter, capped, within a time budget.

Full jitter (a uniform wait between zero and the exponential ceiling) spreads the retries of many jobs that
failed together (an outage) instead of sending them back in waves.  The ceiling is capped so a job keeps
being tried about hourly, and the budget (about 72 hours by default: a long weekend of Salesforce
maintenance) ends the retries: the job goes to the dead-letter list, where `replay` can revive it.

This is the across-call layer; the in-call layer (seconds, tenacity) lives in the connector.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    budget: timedelta = timedelta(hours=72)
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def ceiling(self, attempt: int) -> float:
        """The longest wait after the `attempt`-th failure (1-based)."""
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 seconds is already far past any cap
        return float(min(self.cap_seconds, self.base_seconds * 2**exponent))

    def delay(self, attempt: int, hint_seconds: float | None = None) -> float:
        """A full-jitter wait; a server's Retry-After style hint is a floor (never retry sooner than asked)."""
        wait = self.rng.uniform(0, self.ceiling(attempt))
        if hint_seconds is not None:
            wait = max(wait, min(hint_seconds, self.cap_seconds))
        return wait

    def next_attempt_at(
        self,
        attempt: int,
        first_attempt_at: datetime | None,
        now: datetime,
        hint_seconds: float | None = None,
    ) -> datetime | None:
        """When to try again, or None when the budget is spent (dead-letter)."""
        retry_at = now + timedelta(seconds=self.delay(attempt, hint_seconds))
        started = first_attempt_at or now
        if retry_at - started > self.budget:
            return None
        return retry_at
