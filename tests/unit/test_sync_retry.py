"""Backoff with full jitter: spread out, capped, honouring the server's hint, dead-lettered after the budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sync.retry import RetryPolicy

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_the_ceiling_doubles_then_stays_at_the_cap() -> None:
    policy = RetryPolicy(base_seconds=30, cap_seconds=3600)
    assert [policy.ceiling(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert policy.ceiling(8) == 3600 and policy.ceiling(500) == 3600


def test_full_jitter_spreads_waits_between_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(base_seconds=30, cap_seconds=3600, rng=random.Random(7))
    waits = [policy.delay(6) for _ in range(2000)]
    assert all(0 <= w <= 960 for w in waits)
    assert min(waits) < 100 and max(waits) > 860  # the whole range is used, not a fixed schedule


def test_a_retry_after_hint_is_a_floor_but_never_beyond_the_cap() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=600, rng=random.Random(1))
    assert policy.delay(1, hint_seconds=120) >= 120
    assert policy.delay(1, hint_seconds=86400) <= 600


def test_retries_stop_when_the_72_hour_budget_is_spent() -> None:
    policy = RetryPolicy(rng=random.Random(3))
    first = NOW - timedelta(hours=10)
    retry_at = policy.next_attempt_at(12, first, NOW)
    assert retry_at is not None and NOW <= retry_at <= NOW + timedelta(hours=1)
    assert policy.next_attempt_at(90, NOW - timedelta(hours=72), NOW) is None


def test_a_job_failing_every_time_is_dead_lettered_after_about_three_days() -> None:
    policy = RetryPolicy(rng=random.Random(11))
    first = now = NOW
    attempt = 1
    while (retry_at := policy.next_attempt_at(attempt, first, now)) is not None:
        now, attempt = retry_at, attempt + 1
    assert timedelta(hours=70) <= now - first <= timedelta(hours=72)
    assert attempt > 100  # it kept trying roughly every half hour, not a handful of times
