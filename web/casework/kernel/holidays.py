"""China's public holidays and 调休 make-up working days, as the maintained library
``chinesecalendar`` (PyPI; module ``chinese_calendar``) publishes them.

Pure: reads the library's tables (the State Council's yearly notices) and gives
:class:`CalendarDay` rows for ``work_calendar_days``; :mod:`web.casework.kernel.calendar_days`
stores them.  A holiday row is a day off by notice (weekend days inside a holiday
included), a workday row is a weekend day worked by notice (调休上班).  The library
knows the years up to the last notice published before its release; a newer release
of the package brings the next year (``envgrid calendar update`` then refreshes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import chinese_calendar
from chinese_calendar import constants

__all__ = ["LIBRARY", "CalendarDay", "DayKind", "library_days", "library_years"]

DayKind = Literal["holiday", "workday"]
#: Name and version of the library, for reports.
LIBRARY: Final = f"chinesecalendar {getattr(chinese_calendar, '__version__', '?')}"
#: English holiday name (the library's key) → Chinese name.
_NAMES_ZH: Final = {h.value: str(h.chinese) for h in constants.Holiday}


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    kind: DayKind
    name: str


def _name(value: object) -> str:
    text = str(value or "")
    return _NAMES_ZH.get(text, text)


def library_days() -> tuple[CalendarDay, ...]:
    """Every holiday and 调休 workday the library knows, by date."""
    days = [CalendarDay(d, "holiday", _name(n)) for d, n in constants.holidays.items()]
    days += [CalendarDay(d, "workday", _name(n)) for d, n in constants.workdays.items()]
    return tuple(sorted(days, key=lambda c: c.day))


def library_years() -> tuple[int, ...]:
    """The years the library has a notice for."""
    return tuple(sorted({d.year for d in constants.holidays}))
