"""Patrol cycles: which period a day falls in, and the task deadline.  Pure.

Periods are local calendar dates ``[first, next_first)``: daily = one day; weekly = an ISO
week (Monday–Sunday); monthly = a calendar month; custom = ``every_days`` days counted from
the plan's start date.  The first period of a plan is clipped to its start date and the
last to its end date, so ``period_start`` identifies a period uniquely for the
idempotent task generation.  The deadline is ``due_hours`` after the period start, never
after the period end (None = the period end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["CYCLES", "Period", "period_at"]

CYCLES: Final = ("daily", "weekly", "monthly", "custom")


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    #: Exclusive.
    end: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return datetime.combine(self.first, time(0), tz), datetime.combine(self.end, time(0), tz)

    def due(self, tz: ZoneInfo, due_hours: int | None) -> datetime:
        start, end = self.bounds(tz)
        if due_hours is None:
            return end
        return min(end, start + timedelta(hours=due_hours))


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def period_at(
    cycle: str,
    day: date,
    *,
    start_date: date,
    end_date: date | None = None,
    every_days: int | None = None,
) -> Period | None:
    """The period of the plan containing ``day`` (None outside the plan's dates)."""
    if day < start_date or (end_date is not None and day > end_date):
        return None
    if cycle == "daily":
        first, end = day, day + timedelta(days=1)
    elif cycle == "weekly":
        first = day - timedelta(days=day.weekday())
        end = first + timedelta(days=7)
    elif cycle == "monthly":
        first = day.replace(day=1)
        end = _next_month(first)
    elif cycle == "custom":
        if every_days is None or every_days < 1:
            raise ValueError("自定义周期须给出间隔天数（every_days ≥ 1）")
        n = (day - start_date).days // every_days
        first = start_date + timedelta(days=n * every_days)
        end = first + timedelta(days=every_days)
    else:
        raise ValueError(f"巡查周期须为 {'/'.join(CYCLES)} 之一（收到 {cycle!r}）")
    first = max(first, start_date)
    if end_date is not None:
        end = min(end, end_date + timedelta(days=1))
    return Period(first, end)
