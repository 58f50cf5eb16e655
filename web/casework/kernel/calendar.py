"""Working-time arithmetic over a work calendar (工作日历).

Theory of operation
-------------------
Case time limits are counted in **working minutes** (CJ/T 315 / GB/T 30428.8; eGova's
``get_minutes(timing_dict, …)``): only the working periods of working days count.

A day is a working day when it is listed as a make-up working day (调休上班), or it is
neither a weekend day nor a listed holiday.  A working day has the same periods
(e.g. 08:30–12:00 and 13:30–17:30, local time in the configured zone).

* :meth:`WorkCalendar.add` — the instant at which ``n`` working minutes have elapsed
  after ``start`` (``n = 0`` returns ``start``; a result that lands exactly on the end of
  a period is that end, not the start of the next period).  Negative ``n`` goes back.
* :meth:`WorkCalendar.between` — working minutes from ``a`` to ``b`` (negative if
  ``b < a``), so ``between(t, add(t, n)) == n`` for every ``t`` and ``n ≥ 0``.

Instants are timezone-aware datetimes; results are in the calendar's zone.  Minutes are
integers; seconds inside a minute count pro rata in :meth:`between` (rounded down).
Pure: the holidays are passed in (``work_calendar_days`` rows loaded by the service).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["CalendarError", "WorkCalendar", "parse_work_hours"]

#: No calendar may go this many days without a working day (guards endless loops).
MAX_IDLE_DAYS: Final = 3660


class CalendarError(ValueError):
    """A calendar that cannot work (no working time, naive datetimes …)."""


def parse_work_hours(periods: Iterable[str]) -> tuple[tuple[int, int], ...]:
    """``("08:30-12:00", …)`` → ((510, 720), …) minutes after midnight."""
    out: list[tuple[int, int]] = []
    for text in periods:
        try:
            lo, hi = text.split("-")
            h1, m1 = (int(x) for x in lo.split(":"))
            h2, m2 = (int(x) for x in hi.split(":"))
        except ValueError:
            raise CalendarError(f"工作时段格式应为 HH:MM-HH:MM（收到 {text!r}）") from None
        out.append((h1 * 60 + m1, h2 * 60 + m2))
    previous = -1
    for start, end in out:
        if not (previous <= start < end <= 1440):
            raise CalendarError(f"工作时段须递增且不重叠（收到 {list(periods)!r}）")
        previous = end
    if not out:
        raise CalendarError("至少需要一个工作时段")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Working periods, weekend, holidays and make-up days in one time zone."""

    periods: tuple[tuple[int, int], ...] = ((510, 720), (810, 1050))
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    #: ISO weekdays off (6 = Saturday, 7 = Sunday).
    weekend: frozenset[int] = frozenset({6, 7})
    holidays: frozenset[date] = frozenset()
    #: 调休: weekend days that are working days.
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        parse_work_hours(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"
                         for s, e in self.periods)  # fmt: skip
        if len(self.weekend) >= 7 and not self.workdays:
            raise CalendarError("每周至少需要一个工作日")
        both = self.holidays & self.workdays
        if both:
            raise CalendarError(f"日期不能既是节假日又是调休工作日：{sorted(both)}")

    @classmethod
    def build(
        cls,
        work_hours: Iterable[str],
        tz: str | ZoneInfo,
        weekend: Iterable[int] = (6, 7),
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> WorkCalendar:
        return cls(
            periods=parse_work_hours(tuple(work_hours)),
            tz=tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz),
            weekend=frozenset(weekend),
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
        )

    # -- days ---------------------------------------------------------------------

    @property
    def minutes_per_day(self) -> int:
        return sum(e - s for s, e in self.periods)

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.isoweekday() not in self.weekend

    def _local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise CalendarError(f"需要带时区的时间（收到 {instant.isoformat()}）")
        return instant.astimezone(self.tz)

    def _at(self, day: date, minute: int) -> datetime:
        if minute >= 1440:
            return datetime.combine(day + timedelta(days=1), time(0), self.tz)
        return datetime.combine(day, time(minute // 60, minute % 60), self.tz)

    def _day_periods(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_workday(day):
            for start, end in self.periods:
                yield self._at(day, start), self._at(day, end)

    # -- arithmetic ------------------------------------------------------------------

    def add(self, start: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` working minutes after ``start`` (before it, if negative)."""
        current = self._local(start)
        if minutes == 0:
            return current
        if minutes < 0:
            return self._subtract(current, -minutes)
        remaining = timedelta(minutes=minutes)
        day = current.date()
        idle = 0
        while True:
            worked = False
            for lo, hi in self._day_periods(day):
                if hi <= current:
                    continue
                worked = True
                begin = max(lo, current)
                span = hi - begin
                if remaining <= span:
                    return begin + remaining
                remaining -= span
            idle = 0 if worked else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise CalendarError("日历中找不到工作时间（节假日配置过多？）")
            day += timedelta(days=1)

    def _subtract(self, end: datetime, minutes: int) -> datetime:
        remaining = timedelta(minutes=minutes)
        day = end.date()
        idle = 0
        while True:
            worked = False
            for lo, hi in reversed(list(self._day_periods(day))):
                if lo >= end:
                    continue
                worked = True
                finish = min(hi, end)
                span = finish - lo
                if remaining <= span:
                    return finish - remaining
                remaining -= span
            idle = 0 if worked else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise CalendarError("日历中找不到工作时间（节假日配置过多？）")
            day -= timedelta(days=1)

    def between(self, a: datetime, b: datetime) -> int:
        """Working minutes from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        lo, hi = self._local(a), self._local(b)
        if hi < lo:
            return -self.between(b, a)
        total = timedelta(0)
        day = lo.date()
        last = hi.date()
        while day <= last:
            for p_lo, p_hi in self._day_periods(day):
                begin, finish = max(p_lo, lo), min(p_hi, hi)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return int(total.total_seconds() // 60)

    def is_working_time(self, instant: datetime) -> bool:
        local = self._local(instant)
        return any(lo <= local < hi for lo, hi in self._day_periods(local.date()))
