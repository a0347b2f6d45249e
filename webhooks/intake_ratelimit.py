"""The intake rate limit: at most N verified posts per source in any window of the configured length.

A sliding *log*, not a sliding-window *counter*: the counter (throttled-py's SLIDING_WINDOW, which this replaced)
estimates the previous window's share by rounding, so at a minute boundary it let 4 posts through a 3/minute
limit.  A GCRA or token bucket would not fix that either: with a burst of N they pass up to 2N-1 posts in one
window.  The log keeps the times of the last N accepted posts, so the rule holds exactly: a post passes when
fewer than N were accepted in the past window, and a refused one is told how long until the oldest leaves it.
Memory is N floats per source (the configured limit, e.g. 120), each decision O(1) amortised, and there are no
background threads.  The clock is injected (monotonic seconds), so tests never depend on the wall clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


@dataclass(frozen=True, slots=True)
class Decision:
    limited: bool
    retry_after: float  # seconds until a post would pass; 0 when this one passed


class SlidingLogLimiter:
    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("a rate limit needs at least one post per positive window")
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, rate: str, clock: Callable[[], float] = time.monotonic) -> SlidingLogLimiter:
        """From the sources' configuration form `<n>/second|minute|hour` (validated by IntakeSource)."""
        count, unit = rate.split("/")
        return cls(int(count), UNIT_SECONDS[unit], clock)

    def hit(self) -> Decision:
        """Count one post if it fits in the window; otherwise refuse it without counting it."""
        with self._lock:
            now = self.clock()
            while self._accepted and self._accepted[0] <= now - self.window:
                self._accepted.popleft()
            if len(self._accepted) < self.limit:
                self._accepted.append(now)
                return Decision(False, 0.0)
            return Decision(True, self._accepted[0] + self.window - now)
