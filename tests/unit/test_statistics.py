"""Every published statistic, checked against a case small enough to compute by hand."""

from __future__ import annotations

import math

import pytest

from models import Measure
from models.statistics import (
    Moments,
    PairedSummary,
    cohens_dz,
    mean_confidence_interval,
    prepost_statistics,
    summarise_pairs,
    t_quantile,
)

BURNOUT = Measure(key="measure:burnout", label="Burnout", scale_min=1, scale_max=5, higher_is_better=False, threshold=3)
EMPATHY = Measure(key="measure:empathy", label="Empathy", scale_min=1, scale_max=7, higher_is_better=True)

# a, b, c answered both times; d only before; e only after.  Changes: a +2, b 0, c +1.
PRE = {"a": 2.0, "b": 3.0, "c": 4.0, "d": 5.0}
POST = {"a": 4.0, "b": 3.0, "c": 5.0, "e": 1.0}


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706204736),
        (0.975, 2, 4.302652730),
        (0.975, 5, 2.570581836),
        (0.975, 10, 2.228138852),
        (0.975, 30, 2.042272456),
        (0.975, 200, 1.971896224),
        (0.975, 1000, 1.962339081),
        (0.95, 4, 2.131846786),
        (0.995, 7, 3.499483297),
    ],
)
def test_t_quantile_matches_published_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-8)


def test_t_quantile_is_continuous_where_the_method_switches() -> None:
    assert t_quantile(0.975, 201) == pytest.approx(t_quantile(0.975, 200), abs=1e-4)
    assert t_quantile(0.975, 201) < t_quantile(0.975, 200)


def test_t_quantile_rejects_meaningless_arguments() -> None:
    with pytest.raises(ValueError, match=r"between 0\.5 and 1"):
        t_quantile(0.4, 5)
    with pytest.raises(ValueError, match="df"):
        t_quantile(0.975, 0)


def test_hand_computed_case_gives_every_statistic() -> None:
    s = prepost_statistics(summarise_pairs(PRE, POST, BURNOUT), BURNOUT)
    assert (s.n_pre, s.n_post, s.n_paired) == (4, 4, 3)
    assert s.mean_pre == pytest.approx(3.0)  # paired: (2 + 3 + 4) / 3
    assert s.mean_post == pytest.approx(4.0)  # paired: (4 + 3 + 5) / 3
    assert s.mean_pre_all == pytest.approx(3.5)  # 14 / 4
    assert s.mean_post_all == pytest.approx(3.25)  # 13 / 4
    assert s.mean_change == pytest.approx(1.0)
    assert s.sd_change == pytest.approx(1.0)  # deviations 1, -1, 0 -> 2 / (3 - 1)
    half = 4.302652730 / math.sqrt(3)
    assert s.ci_low == pytest.approx(1 - half)
    assert s.ci_high == pytest.approx(1 + half)
    assert s.d_z == pytest.approx(1.0)
    # burnout: lower is better, so the two increases are "worse"
    assert (s.n_improved, s.n_unchanged, s.n_worse) == (0, 1, 2)
    assert s.pct_improved == 0
    assert s.pct_unchanged == pytest.approx(100 / 3)
    assert s.pct_worse == pytest.approx(200 / 3)
    # at or above 3: before 3, 4, 5 of four; after 4, 3, 5 of four
    assert (s.n_pre_at_threshold, s.n_post_at_threshold) == (3, 3)
    assert s.prevalence_pre == pytest.approx(75.0)
    assert s.prevalence_post == pytest.approx(75.0)


def test_direction_follows_higher_is_better() -> None:
    s = prepost_statistics(summarise_pairs(PRE, POST, EMPATHY), EMPATHY)
    assert (s.n_improved, s.n_unchanged, s.n_worse) == (2, 1, 0)
    assert s.n_pre_at_threshold is None and s.prevalence_pre is None


def test_roll_up_of_summaries_equals_summary_of_pooled_answers() -> None:
    first = summarise_pairs({"a": 1, "b": 2}, {"a": 2, "b": 2}, EMPATHY)
    second = summarise_pairs({"c": 3, "d": 5}, {"c": 6}, EMPATHY)
    pooled = summarise_pairs({"a": 1, "b": 2, "c": 3, "d": 5}, {"a": 2, "b": 2, "c": 6}, EMPATHY)
    assert first + second == pooled


def test_statistics_that_need_spread_are_blank_without_it() -> None:
    one = Moments.of([2.0])
    assert one.sd is None and mean_confidence_interval(one) is None and cohens_dz(one) is None
    same = Moments.of([1.0, 1.0, 1.0])
    assert same.sd == 0 and cohens_dz(same) is None
    empty = prepost_statistics(PairedSummary(), EMPATHY)
    assert empty.mean_pre is None and empty.pct_improved is None and empty.n_paired == 0
