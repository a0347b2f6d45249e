"""Pre/post outcome statistics: the one definition the CRM sync and the funder exports share.

Everything is computed from *sufficient statistics* (counts, sums, sums of squares), never from a list held in
memory: the service database can then do the heavy GROUP BY over millions of answers, a pure-Python pass over
models can produce the very same `PairedSummary`, and roll-ups (a grant over its cohorts) are plain addition.

Definitions (named in every export's notes):
- n pre / n post: respondents with an answer in that phase; n paired: respondents with both.
- mean pre / mean post: over paired respondents, so that mean post - mean pre = mean change; the means over
  all respondents of a phase are given too (mean pre all / mean post all).
- mean change: mean of (post - pre) over paired respondents; its 95% confidence interval uses Student's t with
  n_paired - 1 degrees of freedom.
- Cohen's d_z = mean change / SD of change (Lakens 2013); the within-subject "d" that matches a paired t test.
- improved / unchanged / worse: direction of each paired change, read through `Measure.higher_is_better`.
- prevalence: share of respondents at or above the measure's threshold (`Measure.meets_threshold`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

from models.measures import Measure

# Changes smaller than this are "unchanged": answers are on coarse scales, so this only absorbs float noise.
NO_CHANGE = 1e-9
# Up to this many degrees of freedom the t distribution is evaluated exactly (a finite sum); above it, the
# Cornish-Fisher expansion around the normal quantile is accurate to better than 1e-9.
_EXACT_DF = 200


def _t_two_sided_coverage(t: float, df: int) -> float:
    """P(-t < T < t) for Student's t with integer df, by the closed-form finite sums (Abramowitz & Stegun 26.7)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos = math.sin(theta), math.cos(theta)
    cos2 = cos * cos
    if df % 2 == 1:
        total, term = 0.0, cos
        for j in range(1, (df - 1) // 2 + 1):
            if j > 1:
                term *= cos2 * (2 * (j - 1)) / (2 * (j - 1) + 1)
            total += term
        return (2 / math.pi) * (theta + sin * total)
    total, term = 1.0, 1.0
    for j in range(1, df // 2):
        term *= cos2 * (2 * j - 1) / (2 * j)
        total += term
    return sin * total


def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with `df` degrees of freedom (0.5 < p < 1)."""
    if not 0.5 < p < 1:
        raise ValueError("p must lie strictly between 0.5 and 1")
    if df < 1:
        raise ValueError("df must be at least 1")
    coverage = 2 * p - 1
    if df > _EXACT_DF:
        z = NormalDist().inv_cdf(p)
        v = float(df)
        return (
            z
            + (z**3 + z) / (4 * v)
            + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
        )
    low, high = 0.0, 1.0
    while _t_two_sided_coverage(high, df) < coverage:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if _t_two_sided_coverage(mid, df) < coverage:
            low = mid
        else:
            high = mid
        if high - low < 1e-13:
            break
    return (low + high) / 2


@dataclass(frozen=True, slots=True)
class Moments:
    """n, sum and sum of squares of some values: enough for a mean and a sample SD, and addable."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Moments:
        n, total, total_sq = 0, 0.0, 0.0
        for v in values:
            n += 1
            total += v
            total_sq += v * v
        return cls(n, total, total_sq)

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def sd(self) -> float | None:
        """Sample standard deviation (n - 1 in the denominator); None below two values."""
        if self.n < 2:
            return None
        variance = (self.total_sq - self.total * self.total / self.n) / (self.n - 1)
        return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True, slots=True)
class PairedSummary:
    """Sufficient statistics of one measure in one group of respondents (a cohort, or a roll-up of cohorts).

    Directions are stored as raw increased/decreased counts; whether an increase is an improvement is the
    measure's business and is applied in `prepost_statistics`.
    """

    pre: Moments = Moments()
    post: Moments = Moments()
    change: Moments = Moments()
    pre_paired: Moments = Moments()
    post_paired: Moments = Moments()
    n_increased: int = 0
    n_decreased: int = 0
    n_no_change: int = 0
    n_pre_at_threshold: int = 0
    n_post_at_threshold: int = 0

    def __add__(self, other: PairedSummary) -> PairedSummary:
        return PairedSummary(
            self.pre + other.pre,
            self.post + other.post,
            self.change + other.change,
            self.pre_paired + other.pre_paired,
            self.post_paired + other.post_paired,
            self.n_increased + other.n_increased,
            self.n_decreased + other.n_decreased,
            self.n_no_change + other.n_no_change,
            self.n_pre_at_threshold + other.n_pre_at_threshold,
            self.n_post_at_threshold + other.n_post_at_threshold,
        )


def summarise_pairs(pre: Mapping[str, float], post: Mapping[str, float], measure: Measure) -> PairedSummary:
    """Summarise one group's answers: `pre` and `post` map each respondent to their value in that phase."""
    paired = sorted(pre.keys() & post.keys())
    changes = [post[p] - pre[p] for p in paired]
    with_threshold = measure.threshold is not None
    return PairedSummary(
        pre=Moments.of(pre.values()),
        post=Moments.of(post.values()),
        change=Moments.of(changes),
        pre_paired=Moments.of(pre[p] for p in paired),
        post_paired=Moments.of(post[p] for p in paired),
        n_increased=sum(1 for c in changes if c > NO_CHANGE),
        n_decreased=sum(1 for c in changes if c < -NO_CHANGE),
        n_no_change=sum(1 for c in changes if abs(c) <= NO_CHANGE),
        n_pre_at_threshold=sum(1 for v in pre.values() if measure.meets_threshold(v)) if with_threshold else 0,
        n_post_at_threshold=sum(1 for v in post.values() if measure.meets_threshold(v)) if with_threshold else 0,
    )


@dataclass(frozen=True, slots=True)
class PrePostStatistics:
    """Every number a funder sees for one measure and group, before any suppression."""

    n_pre: int
    n_post: int
    n_paired: int
    mean_pre: float | None
    mean_post: float | None
    mean_pre_all: float | None
    mean_post_all: float | None
    mean_change: float | None
    sd_change: float | None
    ci_low: float | None
    ci_high: float | None
    d_z: float | None
    n_improved: int
    n_unchanged: int
    n_worse: int
    pct_improved: float | None
    pct_unchanged: float | None
    pct_worse: float | None
    n_pre_at_threshold: int | None
    n_post_at_threshold: int | None
    prevalence_pre: float | None
    prevalence_post: float | None


def _pct(count: int, of: int) -> float | None:
    return 100.0 * count / of if of else None


def mean_confidence_interval(moments: Moments, level: float = 0.95) -> tuple[float, float] | None:
    """Two-sided t interval for the mean; None below two values."""
    mean, sd = moments.mean, moments.sd
    if mean is None or sd is None:
        return None
    half = t_quantile(0.5 + level / 2, moments.n - 1) * sd / math.sqrt(moments.n)
    return mean - half, mean + half


def cohens_dz(change: Moments) -> float | None:
    """Mean change / SD of change; None when the SD is undefined or zero (everyone changed by the same)."""
    mean, sd = change.mean, change.sd
    if mean is None or sd is None or sd <= NO_CHANGE:
        return None
    return mean / sd


def prepost_statistics(summary: PairedSummary, measure: Measure, level: float = 0.95) -> PrePostStatistics:
    improved, worse = (
        (summary.n_increased, summary.n_decreased)
        if measure.higher_is_better
        else (summary.n_decreased, summary.n_increased)
    )
    n_paired = summary.change.n
    ci = mean_confidence_interval(summary.change, level)
    has_threshold = measure.threshold is not None
    return PrePostStatistics(
        n_pre=summary.pre.n,
        n_post=summary.post.n,
        n_paired=n_paired,
        mean_pre=summary.pre_paired.mean,
        mean_post=summary.post_paired.mean,
        mean_pre_all=summary.pre.mean,
        mean_post_all=summary.post.mean,
        mean_change=summary.change.mean,
        sd_change=summary.change.sd,
        ci_low=ci[0] if ci else None,
        ci_high=ci[1] if ci else None,
        d_z=cohens_dz(summary.change),
        n_improved=improved,
        n_unchanged=summary.n_no_change,
        n_worse=worse,
        pct_improved=_pct(improved, n_paired),
        pct_unchanged=_pct(summary.n_no_change, n_paired),
        pct_worse=_pct(worse, n_paired),
        n_pre_at_threshold=summary.n_pre_at_threshold if has_threshold else None,
        n_post_at_threshold=summary.n_post_at_threshold if has_threshold else None,
        prevalence_pre=_pct(summary.n_pre_at_threshold, summary.pre.n) if has_threshold else None,
        prevalence_post=_pct(summary.n_post_at_threshold, summary.post.n) if has_threshold else None,
    )


def summarise_groups(
    groups: Mapping[tuple[str, str, str], Mapping[str, float]], measures: Mapping[str, Measure]
) -> dict[tuple[str, str], PairedSummary]:
    """(cohort, measure) -> summary, from `group_responses`-shaped groups ((cohort, measure, phase) -> answers).

    Measures missing from `measures` (not in the catalogue) are skipped: a statistic needs a known direction.
    """
    pairs: dict[tuple[str, str], tuple[Mapping[str, float], Mapping[str, float]]] = {}
    empty: dict[str, float] = {}
    for (cohort, measure, phase), answers in groups.items():
        if measure not in measures or phase not in ("pre", "post"):
            continue
        pre, post = pairs.get((cohort, measure), (empty, empty))
        pairs[(cohort, measure)] = (answers, post) if phase == "pre" else (pre, answers)
    return {key: summarise_pairs(pre, post, measures[key[1]]) for key, (pre, post) in sorted(pairs.items())}
