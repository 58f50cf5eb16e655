"""Deadlines in working time (工作时间): "剩余 1.5 个工作日" / "已超期 3 个工作小时".

Case time limits are counted in working minutes (:mod:`web.casework.kernel.calendar`), so
the time left is shown in the same unit: the working minutes from now to the deadline,
as working days (one day = the working minutes of a working day) when at least one,
else working hours when at least one, else working minutes.  Values are rounded to one
decimal, a trailing ``.0`` dropped.  Pure: the calendar is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import datetime
from typing import Any

from web.casework.kernel.calendar import WorkCalendar

__all__ = ["annotate_deadlines", "time_left", "work_span"]


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def work_span(minutes: int, minutes_per_day: int) -> str:
    """``minutes`` (≥ 0) working minutes in words: "1.5 个工作日", "3 个工作小时"."""
    if minutes >= minutes_per_day:
        return f"{_number(minutes / minutes_per_day)} 个工作日"
    if minutes >= 60:
        return f"{_number(minutes / 60)} 个工作小时"
    return f"{minutes} 个工作分钟"


def time_left(cal: WorkCalendar, deadline: datetime | None, now: datetime) -> dict[str, Any] | None:
    """``{"minutes": n, "overdue": bool, "text": "剩余 …"}`` (None without a deadline).

    ``minutes`` is negative when the deadline has passed."""
    if deadline is None:
        return None
    minutes = cal.between(now, deadline)
    overdue = deadline <= now
    if overdue and minutes == 0:
        text = "已到期"
    elif overdue:
        text = f"已超期 {work_span(-minutes, cal.minutes_per_day)}"
    else:
        text = f"剩余 {work_span(minutes, cal.minutes_per_day)}"
    return {"minutes": minutes, "overdue": overdue, "text": text}


def annotate_deadlines(
    rows: Iterable[MutableMapping[str, Any]],
    cal: WorkCalendar,
    now: datetime,
    field: str = "deadline",
    closed: frozenset[str] = frozenset(),
) -> None:
    """Add ``deadline_left`` (:func:`time_left` of ``row[field]``) to each row.

    Rows whose ``state`` is in ``closed`` (a finished patrol task, a passed hazard) get
    None: their deadline no longer runs."""
    for row in rows:
        due = None if row.get("state") in closed else row.get(field)
        row["deadline_left"] = time_left(cal, due, now)
