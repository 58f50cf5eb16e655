"""The work calendar as stored: holidays and 调休 make-up days (``work_calendar_days``)
around a moment, combined with the ``[cases]`` working hours into a
:class:`~web.casework.kernel.calendar.WorkCalendar` (the arithmetic, pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

import asyncpg

from web.casework.kernel import queries as q
from web.casework.kernel.calendar import WorkCalendar
from web.casework.kernel.config import CaseConfig

__all__ = ["load_calendar"]


#: Holidays are loaded for [now - before, now + after] for each operation.
_CAL_BEFORE: Final = timedelta(days=60)


_CAL_AFTER: Final = timedelta(days=800)


async def load_calendar(
    conn: asyncpg.Connection, config: CaseConfig, around: datetime
) -> WorkCalendar:
    """The work calendar with the holidays / 调休 days near ``around``."""
    local = around.astimezone(config.tz).date()
    holidays: set[date] = set()
    workdays: set[date] = set()
    for r in await q.calendar_days(conn, local - _CAL_BEFORE, local + _CAL_AFTER):
        (holidays if r["kind"] == "holiday" else workdays).add(r["day"])
    c = config.cases
    return WorkCalendar.build(c.work_hours, config.tz, c.weekend, holidays, workdays)
