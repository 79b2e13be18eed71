"""Item statistics as Moodle's quiz statistics report computes them.

``scores[s][i]`` is student s's mark on item i (one attempt per student).
Variances use n-1. Undefined values are ``None``.

* Facility F_i = 100 * mean(x_i) / max(x_i)
* Discrimination D_i = 100 * corr(x_i, X-i), X-i the total on the rest of the test;
  None when either variance is 0 or there are fewer than 2 attempts.
* Cronbach's alpha = p/(p-1) * (1 - sum Var(x_i) / Var(X)), reported in percent;
  Moodle calls 75% or more satisfactory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemStat:
    item: str
    attempts: int
    facility: float | None  # percent
    discrimination: float | None  # percent

    def to_dict(self) -> dict:
        return {
            "id": self.item,
            "attempts": self.attempts,
            "facility": self.facility,
            "discrimination": self.discrimination,
        }


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def variance(xs: Sequence[float]) -> float | None:
    """Sample variance (n-1); None for fewer than 2 values."""
    if len(xs) < 2:
        return None
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; None if fewer than 2 pairs or either variance is 0."""
    if len(xs) < 2 or len(xs) != len(ys):
        return None
    mx, my = mean(xs), mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return sxy / math.sqrt(sxx * syy)


def facility(xs: Sequence[float], max_mark: float = 1.0) -> float | None:
    """100 * mean / max mark; None without attempts."""
    if not xs or max_mark <= 0:
        return None
    return 100.0 * mean(xs) / max_mark


def discrimination(scores: Sequence[Sequence[float]], item: int) -> float | None:
    """100 * corr(item marks, rest-of-test totals)."""
    xs = [row[item] for row in scores]
    rest = [sum(row) - row[item] for row in scores]
    r = correlation(xs, rest)
    return None if r is None else 100.0 * r


def cronbach_alpha(scores: Sequence[Sequence[float]]) -> float | None:
    """Cronbach's alpha in percent; None with fewer than 2 items or attempts, or zero total variance."""
    if len(scores) < 2 or not scores[0] or len(scores[0]) < 2:
        return None
    p = len(scores[0])
    var_total = variance([sum(row) for row in scores])
    if not var_total:
        return None
    item_vars = [variance([row[i] for row in scores]) for i in range(p)]
    return 100.0 * p / (p - 1) * (1 - sum(item_vars) / var_total)


def item_statistics(
    items: Sequence[str],
    scores: Sequence[Sequence[float]],
    max_marks: Sequence[float] | None = None,
) -> list[ItemStat]:
    """Facility and discrimination for every item (columns of ``scores``)."""
    max_marks = max_marks or [1.0] * len(items)
    return [
        ItemStat(
            item=name,
            attempts=len(scores),
            facility=facility([row[i] for row in scores], max_marks[i]),
            discrimination=discrimination(scores, i),
        )
        for i, name in enumerate(items)
    ]
