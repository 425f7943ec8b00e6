"""The spread of repeated timings and the verdicts drawn from it.

Shared by the runner (per-point CV and interval on every row), `bench compare` and `bench ab`.
Changes are judged on log ratios (new / old), so a 10 % drop and its confidence band are
symmetric in the same units whatever the QPS scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

NOISY_CV = 0.05  # a point whose QPS varies more than this over its repetitions is `noisy`


def cv(values: Sequence[float]) -> float:
    """Coefficient of variation (sample standard deviation / mean); NaN below two values."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2 or array.mean() == 0:
        return math.nan
    return float(array.std(ddof=1) / array.mean())


def median_interval(values: Sequence[float], alpha: float = 0.05) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics.

    The narrowest [x_(j), x_(n+1-j)] whose coverage (binomial, p = 1/2) is at least 1 - alpha;
    with too few values for that coverage, the full range (coverage 1 - 2^(1-n)). No
    resampling, so no seed: the same repetitions always give the same interval."""
    array = np.sort(np.asarray(values, dtype=float))
    n = len(array)
    if n == 0:
        return math.nan, math.nan
    best = 1
    for j in range(1, n // 2 + 1):  # coverage of [x_(j), x_(n+1-j)] = P(j <= B <= n - j)
        if stats.binom.cdf(n - j, n, 0.5) - stats.binom.cdf(j - 1, n, 0.5) >= 1 - alpha:
            best = j
    return float(array[best - 1]), float(array[n - best])


def log_half_width(values: Sequence[float], alpha: float) -> float:
    """Half the width of the median's interval in log units (0 for a single value)."""
    low, high = median_interval(values, alpha)
    return (math.log(high) - math.log(low)) / 2


def mean_interval(values: Sequence[float], alpha: float = 0.05) -> tuple[float, float]:
    """Student-t interval of the mean (NaN below two values).

    Wider than a percentile bootstrap at the few pairs an A/B run has (six to twenty): the
    bootstrap's extreme quantiles cannot reach beyond the sample, so at a Bonferroni level of
    a few per mille it claimed more confidence than six values hold."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return math.nan, math.nan
    n, mean = len(array), float(array.mean())
    half = float(stats.t.ppf(1 - alpha / 2, n - 1) * array.std(ddof=1) / math.sqrt(n))
    return mean - half, mean + half


def log_limit(threshold: float) -> float:
    """A tolerated relative drop in log units: 10 % -> 0.105."""
    return -math.log1p(-threshold)


def narrow(low: float, high: float, threshold: float) -> bool:
    """A band no wider than the threshold on either side of its centre can resolve it."""
    return (high - low) / 2 <= log_limit(threshold)


def judge(change: float, low: float, high: float, threshold: float) -> str:
    """Verdict on a log ratio new/old with its band [low, high] and a tolerated relative drop.

    - regression: the whole band is below no change and the change is beyond the threshold;
    - inconclusive: not that, but a drop of the threshold's size is inside the band and the
      band is wider than the threshold (the noise is too large to judge);
    - faster: the whole band is above no change and the gain is beyond the threshold;
    - ok: otherwise (a change inside the band is not a regression)."""
    limit = log_limit(threshold)
    if high < 0 and change < -limit:
        return "regression"
    if low < -limit and not narrow(low, high, threshold):
        return "inconclusive"
    if low > 0 and change > limit:
        return "faster"
    return "ok"
