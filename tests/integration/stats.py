"""Bounds for statistical assertions, sized so that a correct implementation fails less than
once in a million runs (issue #15 §4)."""

from __future__ import annotations

import math

FALSE_ALARM = 1e-6


def _log_pmf(n: int, k: int, p: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) +
            k * math.log(p) + (n - k) * math.log1p(-p))


def binomial_bounds(n: int, p: float, false_alarm: float = FALSE_ALARM) -> tuple[int, int]:
    """[lo, hi] holding the count of successes in n independent trials of probability p with
    probability at least 1 - false_alarm (each tail at most false_alarm / 2), from the exact
    binomial distribution."""
    pmf = [math.exp(_log_pmf(n, k, p)) for k in range(n + 1)]
    lo, tail = 0, 0.0
    while tail + pmf[lo] <= false_alarm / 2:
        tail += pmf[lo]
        lo += 1
    hi, tail = n, 0.0
    while tail + pmf[hi] <= false_alarm / 2:
        tail += pmf[hi]
        hi -= 1
    return lo, hi
