"""The stored work calendar (``work_calendar_days``): filled from the library, days set by
hand, the view of a year and whether next year is covered.

Theory of operation
-------------------
Each row is a day that is not what its weekday says: a holiday (放假) or a 调休 make-up
working day.  ``source = 'library'`` rows come from :func:`~web.casework.kernel.holidays.
library_days` and are rewritten by every :func:`update_calendar`; ``source = 'override'``
rows were set by a person (``envgrid calendar set``, the calendar page) and no update
touches them.  :func:`set_day` with ``auto`` drops the override and puts the library's
row back (or nothing: the weekday rule).  :func:`fill_if_empty` runs at ``db migrate`` and
at start.  A year counts as covered when it has at least one holiday row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

import asyncpg

from web.casework.kernel import queries as q
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.holidays import CalendarDay, library_days, library_years

__all__ = [
    "KINDS",
    "CalendarUpdate",
    "Coverage",
    "coverage",
    "fill_if_empty",
    "parse_day",
    "set_day",
    "update_calendar",
    "year_days",
]

SetKind = Literal["workday", "holiday", "auto"]
KINDS: Final[tuple[SetKind, ...]] = ("workday", "holiday", "auto")
KIND_ZH: Final = {"workday": "工作日", "holiday": "休息日", "auto": "按法定安排"}


@dataclass(frozen=True, slots=True)
class CalendarUpdate:
    inserted: int
    updated: int
    removed: int
    #: Library days an override keeps as set by hand.
    overridden: int
    years: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    #: (year, holidays, 调休 workdays, overrides) per stored year.
    years: tuple[tuple[int, int, int, int], ...]
    next_year: int
    next_year_covered: bool

    @property
    def warning(self) -> str | None:
        if self.next_year_covered:
            return None
        return (
            f"工作日历尚未包含 {self.next_year} 年的法定节假日和调休安排："
            "案件时限将按普通周末计算。"
            "请在服务器上升级节假日库 `chinesecalendar` 后执行 `envgrid calendar update`，"
            "或在工作日历页面逐日设置。"
        )


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise WorkflowError(f"日期格式应为 YYYY-MM-DD（收到 {text!r}）", "input") from None


async def update_calendar(
    conn: asyncpg.Connection,
    now: datetime,
    days: Sequence[CalendarDay] | None = None,
    years: Sequence[int] | None = None,
) -> CalendarUpdate:
    """Write the library's days (default: the installed ``chinesecalendar``)."""
    days = library_days() if days is None else days
    years = library_years() if years is None else years
    row = await q.update_calendar(
        conn,
        [d.day for d in days],
        [d.kind for d in days],
        [d.name for d in days],
        list(years),
        now,
    )
    assert row is not None
    return CalendarUpdate(
        row["inserted"], row["updated"], row["removed"], row["overridden"], tuple(years)
    )


async def fill_if_empty(conn: asyncpg.Connection, now: datetime) -> CalendarUpdate | None:
    """Fill the calendar from the library when it has no library day at all."""
    async with conn.transaction():
        await q.lock_calendar(conn)
        if await q.calendar_filled(conn):
            return None
        return await update_calendar(conn, now)


async def set_day(
    conn: asyncpg.Connection, day: date, kind: str, *, by: str, now: datetime, name: str = ""
) -> str:
    """Override one day (``workday`` / ``holiday``) or give it back to the library
    (``auto``); returns what the day is now, in Chinese."""
    if kind not in KINDS:
        raise WorkflowError(
            f"日期类型须为 workday（工作日）、holiday（休息日）或 auto（收到 {kind!r}）", "input"
        )
    if not 2000 <= day.year <= 2100:
        raise WorkflowError(f"日期超出范围（2000—2100 年）：{day}", "input")
    if len(name) > 40:
        raise WorkflowError("说明不超过 40 字", "input")
    async with conn.transaction():
        if kind != "auto":
            await q.set_calendar_day(conn, day, kind, name.strip(), now, by)
            return f"{day} 设为{KIND_ZH[kind]}（人工设置，更新节假日库时保留）"
        await q.clear_calendar_override(conn, day)
        library = [d for d in library_days() if d.day == day]
        if library:
            await update_calendar(conn, now, library, [])
            return f"{day} 恢复为法定安排：{KIND_ZH[library[0].kind]}（{library[0].name}）"
    weekday = "休息日" if day.isoweekday() >= 6 else "工作日"
    return f"{day} 恢复为法定安排：{weekday}（无节假日安排）"


async def year_days(conn: asyncpg.Connection, year: int) -> list[asyncpg.Record]:
    if not 2000 <= year <= 2100:
        raise WorkflowError(f"年份超出范围（2000—2100）：{year}", "input")
    return await q.calendar_year(conn, year)


async def coverage(conn: asyncpg.Connection, today: date) -> Coverage:
    rows = await q.calendar_years(conn)
    years = tuple((r["year"], r["holidays"], r["workdays"], r["overrides"]) for r in rows)
    covered = any(y == today.year + 1 and h > 0 for y, h, _, _ in years)
    return Coverage(years, today.year + 1, covered)
