"""Report periods and local-day arithmetic (pure: no I/O, no clock).

Periods are half-open ranges of *local* calendar days ``[start, end)`` in the platform's
time zone (``core.timezone``, Asia/Shanghai by default):

=========  ==============================================================================
hour       one local day, reported hour by hour (时报)
day        one local day (日报)
week       ISO week, Monday–Sunday (周报)
xun        旬: days 1–10 (上旬), 11–20 (中旬), 21–end of month (下旬); 8–11 days long
month      calendar month (月报)
year       calendar year (年报)
custom     any range of whole days (自定义)
=========  ==============================================================================

Validity of period means (GB 3095-2012 Table 4 via HJ 663-2013 §6, AQI.md §2.2): a month
needs ≥ 27 valid daily values (February 25); a year ≥ 324 and the monthly minimum in every
month.  Weeks, 旬 and custom ranges have no rule in the standards; this platform applies the
monthly rule in proportion to the days of each month the period covers —
``ceil(covered × minimum / days_in_month)`` valid days per month part — which is exactly the
monthly rule for a whole month (platform rule, see :func:`period_valid`).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

from aggregates.validity import MIN_DAYS_PER_YEAR, min_days_for_month

__all__ = [
    "PERIOD_KINDS",
    "Period",
    "PeriodKind",
    "day_bounds",
    "local_date",
    "month_parts",
    "period_of",
    "period_valid",
    "required_valid_days",
    "xun_of",
]

PeriodKind = Literal["hour", "day", "week", "xun", "month", "year", "custom"]
PERIOD_KINDS: Final[tuple[PeriodKind, ...]] = get_args(PeriodKind)
_XUN_NAMES: Final = ("上旬", "中旬", "下旬")


@dataclass(frozen=True, slots=True)
class Period:
    """A report period: local days ``[start, end)`` of a kind."""

    kind: PeriodKind
    start: date
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.kind not in PERIOD_KINDS:
            raise ValueError(f"unknown period {self.kind!r} (expected one of {PERIOD_KINDS})")
        if self.end <= self.start:
            raise ValueError(f"empty period: {self.start} .. {self.end} (end is exclusive)")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def iter_days(self) -> Iterator[date]:
        d = self.start
        while d < self.end:
            yield d
            d += timedelta(days=1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware UTC instants ``[start, end)`` (local midnights)."""
        return day_bounds(self.start, tz)[0], day_bounds(self.end, tz)[0]

    @property
    def label(self) -> str:
        """Chinese label: ``2024年3月上旬``, ``2024年第12周``, ``2024年3月`` …"""
        s = self.start
        if self.kind in ("hour", "day"):
            return f"{s.year}年{s.month}月{s.day}日"
        if self.kind == "week":
            iso, last = s.isocalendar(), self.last_day
            return f"{iso.year}年第{iso.week}周（{s.month}月{s.day}日—{last.month}月{last.day}日）"
        if self.kind == "xun":
            return f"{s.year}年{s.month}月{_XUN_NAMES[min(2, (s.day - 1) // 10)]}"
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        if self.kind == "year":
            return f"{s.year}年"
        last = self.last_day
        return f"{s.year}年{s.month}月{s.day}日—{last.year}年{last.month}月{last.day}日"


def xun_of(day: date) -> tuple[date, date]:
    """The 旬 containing ``day``: [1, 11), [11, 21) or [21, first of next month)."""
    if day.day <= 10:
        return day.replace(day=1), day.replace(day=11)
    if day.day <= 20:
        return day.replace(day=11), day.replace(day=21)
    return day.replace(day=21), _next_month(day)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def period_of(kind: PeriodKind, day: date, end: date | None = None) -> Period:
    """The period of ``kind`` that contains local ``day``; ``custom`` takes ``day .. end``
    (``end`` inclusive, as users type it)."""
    if kind in ("hour", "day"):
        return Period(kind, day, day + timedelta(days=1))
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=7))
    if kind == "xun":
        return Period(kind, *xun_of(day))
    if kind == "month":
        return Period(kind, day.replace(day=1), _next_month(day))
    if kind == "year":
        return Period(kind, date(day.year, 1, 1), date(day.year + 1, 1, 1))
    if kind == "custom":
        if end is None:
            raise ValueError("a custom period needs an end day")
        if end < day:
            raise ValueError(f"custom period ends ({end}) before it starts ({day})")
        return Period(kind, day, end + timedelta(days=1))
    raise ValueError(f"unknown period {kind!r} (expected one of {PERIOD_KINDS})")


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local ``day`` as UTC instants ``[local midnight, next local midnight)``."""
    lo = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return lo, hi


def local_date(ts: datetime, tz: ZoneInfo) -> date:
    """The local calendar day of an aware instant (2024-03-01T16:00Z is 03-02 in Shanghai)."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts.isoformat()}: pass an aware instant")
    return ts.astimezone(tz).date()


def month_parts(start: date, end: date) -> list[tuple[int, int, int]]:
    """``(year, month, days covered)`` of every calendar month overlapping ``[start, end)``."""
    out: list[tuple[int, int, int]] = []
    d = start
    while d < end:
        nxt = min(_next_month(d), end)
        out.append((d.year, d.month, (nxt - d).days))
        d = nxt
    return out


def required_valid_days(year: int, month: int, covered: int) -> int:
    """Valid daily values needed in ``covered`` days of a month: the monthly minimum
    (27, February 25) in proportion, rounded up (whole month → the minimum itself)."""
    days = calendar.monthrange(year, month)[1]
    if not 0 < covered <= days:
        raise ValueError(f"{year}-{month:02d} has {days} days, cannot cover {covered}")
    return math.ceil(covered * min_days_for_month(month) / days)


def period_valid(period: Period, valid_days_by_month: Mapping[tuple[int, int], int]) -> bool:
    """Whether a period mean has enough valid daily values.

    ``valid_days_by_month`` maps ``(year, month)`` → valid daily values in the part of that
    month inside the period (absent = 0).  Every month part needs
    :func:`required_valid_days`; a whole calendar year also ≥ 324 in total (GB 3095-2012
    Table 4).  Hour and day periods are judged on hourly data instead (``ValueError``).
    """
    if period.kind in ("hour", "day"):
        raise ValueError("daily validity is ≥ 20 valid hours, not a day count")
    total = 0
    for year, month, covered in month_parts(period.start, period.end):
        n = valid_days_by_month.get((year, month), 0)
        total += n
        if n < required_valid_days(year, month, covered):
            return False
    whole_year = period.start.month == 1 and period.start.day == 1 and period.days >= 365
    return not (whole_year and total < MIN_DAYS_PER_YEAR)
