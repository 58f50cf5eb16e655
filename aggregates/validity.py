"""Data validity and statistics of HJ 663-2013 and GB 3095-2012 Table 4, exact arithmetic.

Pure functions; clause references are to HJ 663-2013 (环境空气质量评价技术规范), GB 3095-2012
Table 4 (污染物浓度数据有效性的最低要求) and ``/work/shared/standards/AQI.md`` ("AQI.md").

Minimum data (AQI.md §2.2):

=====================================  ======================================================
1h average                              ≥ 45 min of sampling in the hour
8h moving average (O3)                  ≥ 6 valid hourly values of the 8
24h / daily mean                        ≥ 20 valid hourly values
O3 daily maximum 8h average (MDA8)      ≥ 14 valid 8h averages among those ending 08:00–24:00
monthly mean                            ≥ 27 valid daily values (February ≥ 25)
annual mean                             ≥ 324 valid daily values and ≥ 27 per month (Feb 25)
=====================================  ======================================================

Means are taken over the valid values only.  Percentiles follow HJ 663-2013 (AQI.md §2.3).
Missing values are ``None`` everywhere.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction

from aggregates.standards import Number, to_fraction

__all__ = [
    "MIN_DAYS_FEBRUARY",
    "MIN_DAYS_PER_MONTH",
    "MIN_DAYS_PER_YEAR",
    "MIN_HOURS_PER_8H",
    "MIN_HOURS_PER_DAY",
    "MIN_MDA8_WINDOWS",
    "MIN_MINUTES_PER_HOUR",
    "annual_valid",
    "daily_mean",
    "daily_mean_valid",
    "hourly_valid",
    "mda8",
    "mean",
    "min_days_for_month",
    "monthly_valid",
    "moving_8h",
    "moving_mean",
    "percentile",
]

MIN_MINUTES_PER_HOUR = 45
MIN_HOURS_PER_8H = 6
MIN_HOURS_PER_DAY = 20
MIN_MDA8_WINDOWS = 14
MIN_DAYS_PER_MONTH = 27
MIN_DAYS_FEBRUARY = 25
MIN_DAYS_PER_YEAR = 324


def _valid(values: Sequence[Number | None], what: str) -> list[Fraction]:
    return [to_fraction(v, f"{what}[{i}]") for i, v in enumerate(values) if v is not None]


def mean(values: Sequence[Number | None]) -> Fraction | None:
    """Arithmetic mean of the valid (non-``None``) values, exact; ``None`` if there are none."""
    valid = _valid(values, "values")
    if not valid:
        return None
    return sum(valid, Fraction(0)) / len(valid)


def hourly_valid(minutes_sampled: int, *, minimum: int = MIN_MINUTES_PER_HOUR) -> bool:
    """GB 3095-2012 Table 4: a 1h average needs at least 45 minutes of sampling."""
    return minutes_sampled >= minimum


def daily_mean_valid(n_valid_hours: int, *, minimum: int = MIN_HOURS_PER_DAY) -> bool:
    """GB 3095-2012 Table 4 (HJ 663-2013 §6): a 24h mean needs ≥ 20 valid hourly values."""
    return n_valid_hours >= minimum


def daily_mean(
    hourly: Sequence[Number | None], *, min_valid: int = MIN_HOURS_PER_DAY
) -> Fraction | None:
    """24h mean of a day's hourly values, ``None`` with fewer than 20 valid hours."""
    valid = _valid(hourly, "hourly")
    if not daily_mean_valid(len(valid), minimum=min_valid):
        return None
    return sum(valid, Fraction(0)) / len(valid)


def moving_mean(
    values: Sequence[Number | None], window: int, min_valid: int
) -> list[Fraction | None]:
    """Trailing moving mean: element ``t`` is the mean of the valid values among
    ``values[t-window+1 .. t]`` when there are at least ``min_valid`` of them, else ``None``.
    Positions before the start of the sequence count as missing."""
    if window < 1 or not 1 <= min_valid <= window:
        raise ValueError("need window >= 1 and 1 <= min_valid <= window")
    exact: list[Fraction | None] = [
        None if v is None else to_fraction(v, f"values[{i}]") for i, v in enumerate(values)
    ]
    out: list[Fraction | None] = []
    for t in range(len(exact)):
        win = [v for v in exact[max(0, t - window + 1) : t + 1] if v is not None]
        out.append(sum(win, Fraction(0)) / len(win) if len(win) >= min_valid else None)
    return out


def moving_8h(
    hourly: Sequence[Number | None], *, min_valid: int = MIN_HOURS_PER_8H
) -> list[Fraction | None]:
    """8h moving averages (AQI.md §2.1: the value at hour t is the mean of hours t−7 … t),
    valid with at least 6 valid hourly values of the 8 (GB 3095-2012 Table 4).

    The output has one element per input hour; for the first 7 hours the missing earlier
    hours count as missing data.
    """
    return moving_mean(hourly, 8, min_valid)


def mda8(
    hourly_of_day_with_previous_7h: Sequence[Number | None],
    *,
    exceed_limit: Number | None = None,
    min_valid_windows: int = MIN_MDA8_WINDOWS,
    min_valid_hours: int = MIN_HOURS_PER_8H,
    first_window_end: int = 8,
) -> Fraction | None:
    """O3 daily maximum 8h average (日最大8小时平均, HJ 663-2013 §3/§6; AQI.md §2.1).

    Input: the day's 24 hourly values (hour labels 01:00 … 24:00, each the mean of the
    hour ending then), optionally preceded by the previous day's last 7 hours (31 values).
    The 8h average ending at hour h is the mean of hours h−7 … h, valid with ≥ 6 valid
    hours.  MDA8 is the largest of the averages ending 08:00 … 24:00 (17 windows, all inside
    the natural day, so the previous 7 hours are not needed by the HJ 663-2013 rule; they
    are used only when ``first_window_end`` < 8), and it is valid when at least 14 of those
    windows are valid.

    ``exceed_limit``: HJ 663 (as recalled in AQI.md §2.1, *not verified against the text*)
    keeps a day with fewer than 14 valid windows when its maximum exceeds the limit.  Pass
    the GB 3095 O3 8h limit (e.g. ``registry.limits(day).limit("O3", "8h")`` = 160) to
    apply that exception; the default ``None`` does not apply it.
    """
    n = len(hourly_of_day_with_previous_7h)
    if n == 24:
        series: list[Number | None] = [None] * 7 + list(hourly_of_day_with_previous_7h)
    elif n == 31:
        series = list(hourly_of_day_with_previous_7h)
    else:
        raise ValueError(f"expected 24 hourly values (or 7 + 24 = 31), got {n}")
    if not 1 <= first_window_end <= 24:
        raise ValueError("first_window_end must be between 1 and 24")
    moving = moving_mean(series, 8, min_valid_hours)
    # series index 7 + j holds the hour ending at j + 1; the window ending at hour h
    # therefore ends at index h + 6.
    windows = [moving[h + 6] for h in range(first_window_end, 25)]
    valid = [w for w in windows if w is not None]
    if not valid:
        return None
    best = max(valid)
    if len(valid) >= min_valid_windows:
        return best
    if exceed_limit is not None and best > to_fraction(exceed_limit, "exceed_limit"):
        return best
    return None


def min_days_for_month(month: int) -> int:
    """Minimum valid daily values of a month: 27, February 25 (GB 3095-2012 Table 4)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month}")
    return MIN_DAYS_FEBRUARY if month == 2 else MIN_DAYS_PER_MONTH


def monthly_valid(n_days: int, year: int, month: int) -> bool:
    """GB 3095-2012 Table 4: a monthly mean needs ≥ 27 valid daily values (February ≥ 25).

    ``n_days`` cannot exceed the days of that month (``ValueError``).
    """
    minimum = min_days_for_month(month)
    days = calendar.monthrange(year, month)[1]
    if not 0 <= n_days <= days:
        raise ValueError(f"{year}-{month:02d} has {days} days, not {n_days} valid ones")
    return n_days >= minimum


def annual_valid(daily_counts_per_month: Sequence[int] | Mapping[int, int]) -> bool:
    """GB 3095-2012 Table 4: an annual mean needs ≥ 324 valid daily values in the year and
    ≥ 27 in every month (February 25).

    ``daily_counts_per_month``: 12 counts January … December, or a mapping month (1–12) →
    count where absent months count 0.
    """
    if isinstance(daily_counts_per_month, Mapping):
        for m in daily_counts_per_month:
            if not 1 <= m <= 12:
                raise ValueError(f"month must be 1..12, not {m}")
        counts = [daily_counts_per_month.get(m, 0) for m in range(1, 13)]
    else:
        counts = list(daily_counts_per_month)
        if len(counts) != 12:
            raise ValueError(f"expected 12 monthly counts, got {len(counts)}")
    if any(c < 0 for c in counts):
        raise ValueError("counts cannot be negative")
    if sum(counts) < MIN_DAYS_PER_YEAR:
        return False
    return all(c >= min_days_for_month(m) for m, c in enumerate(counts, start=1))


def percentile(values: Sequence[Number | None], p: Number) -> Fraction:
    """p-th percentile per HJ 663-2013 (AQI.md §2.3), exact.

    Sort the valid values ascending X(1) ≤ … ≤ X(n); k = 1 + (n − 1)·p%; s = ⌊k⌋;
    m_p = X(s) + (X(s+1) − X(s))·(k − s), and m_p = X(n) when s = n.  This equals
    ``numpy.percentile(x, p, method="linear")``; e.g. 1…10 at p = 90 gives 9.1.
    ``None`` values are ignored; no valid value raises ``ValueError``.
    """
    xs = sorted(_valid(values, "values"))
    if not xs:
        raise ValueError("percentile of no valid values")
    pf = to_fraction(p, "p")
    if not 0 <= pf <= 100:
        raise ValueError(f"p must be between 0 and 100, not {p!r}")
    n = len(xs)
    k = 1 + (n - 1) * pf / 100
    s = math.floor(k)
    if s >= n:
        return xs[-1]
    return xs[s - 1] + (xs[s] - xs[s - 1]) * (k - s)
