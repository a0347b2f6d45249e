"""The intake rate limit's rule: at most N accepted posts in any window, at a minute boundary too."""

from __future__ import annotations

import random

from webhooks.intake_ratelimit import SlidingLogLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_across_a_minute_boundary_passes_no_more_than_the_limit() -> None:
    clock = Clock()
    limiter = SlidingLogLimiter.parse("3/minute", clock)
    passed = []
    for at in (59.5, 59.6, 59.7, 60.1, 60.2, 61.0):  # the old counter let the fourth (60.1) through
        clock.now = at
        if not limiter.hit().limited:
            passed.append(at)
    assert passed == [59.5, 59.6, 59.7]


def test_no_window_ever_holds_more_accepted_posts_than_the_limit() -> None:
    rng = random.Random(13)
    clock = Clock()
    limiter = SlidingLogLimiter(5, 60.0, clock)
    accepted: list[float] = []
    for _ in range(2_000):
        clock.now += rng.expovariate(1 / 4)  # a post about every 4 s on average, in bursts
        decision = limiter.hit()
        if decision.limited:
            assert 0 < decision.retry_after <= 60
        else:
            accepted.append(clock.now)
    for i, at in enumerate(accepted):
        assert sum(1 for other in accepted[: i + 1] if other > at - 60) <= 5
    assert len(accepted) > 100  # the limit lets posts through steadily, it does not lock the source out


def test_retry_after_is_when_the_oldest_post_leaves_the_window() -> None:
    clock = Clock()
    limiter = SlidingLogLimiter.parse("2/second", clock)
    assert not limiter.hit().limited
    clock.now = 0.25
    assert not limiter.hit().limited
    clock.now = 0.5
    decision = limiter.hit()
    assert decision.limited and decision.retry_after == 0.5
    clock.now = 1.0
    assert not limiter.hit().limited  # a refused post was not counted
