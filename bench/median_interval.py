"""A confidence interval for the median of a bench's rounds, free of any assumption about
their spread.

Why: on this shared machine one round's ratio of two rows swings by 10% or more, and
that swing does not shrink as rounds are added, while the uncertainty of their median
does. The interval says how far the median can be trusted, and narrows with `--rounds`.

Method (the sign-test interval): with n independent rounds, the true median lies below
the k-th smallest value only if at least n - k + 1 rounds fall above it, so
[x(k), x(n + 1 - k)] misses it with probability 2 P(B <= k - 1), B ~ Binomial(n, 1/2).
The widest k whose coverage still reaches the level asked for is used; with too few
rounds for that level, the full range and its own (lower) coverage are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    coverage: float  # the probability that [low, high] holds the true median

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:.2f} to {self.high:.2f} ({100 * self.coverage:.0f}%)"


def median_interval(values: list[float], level: float = 0.95) -> Interval:
    """The narrowest order-statistic interval whose coverage is at least `level`."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    n = len(ordered)
    k = 1
    while k < (n + 1) // 2 and coverage(n, k + 1) >= level:
        k += 1
    return Interval(ordered[k - 1], ordered[n - k], coverage(n, k))


def coverage(n: int, k: int) -> float:
    """P(x(k) <= median <= x(n + 1 - k)) for n independent values of a continuous spread."""
    tail = sum(comb(n, i) for i in range(k)) / 2**n
    return max(0.0, 1.0 - 2.0 * tail)
