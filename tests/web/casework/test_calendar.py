"""Working-time arithmetic over weekends, holidays and 调休 make-up days."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.web.casework.conftest import TZ
from web.casework.kernel.calendar import CalendarError, WorkCalendar

# 2024 清明 (4/4–4/6, make-up Sunday 4/7) and 劳动节 (5/1–5/5, make-up 4/28 Sun and 5/11 Sat)
HOLIDAYS = {date(2024, 4, d) for d in (4, 5, 6)} | {date(2024, 5, d) for d in range(1, 6)}
WORKDAYS = {date(2024, 4, 7), date(2024, 4, 28), date(2024, 5, 11)}
CAL = WorkCalendar.build(("08:30-12:00", "13:30-17:30"), TZ, (6, 7), HOLIDAYS, WORKDAYS)


def t(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


CASES = [
    ("inside a morning", t(2024, 3, 4, 9), 60, t(2024, 3, 4, 10)),
    ("over lunch", t(2024, 3, 4, 11, 30), 60, t(2024, 3, 4, 14)),
    ("over a weekend", t(2024, 3, 8, 17), 60, t(2024, 3, 11, 9)),
    ("start on Saturday", t(2024, 3, 9, 10), 30, t(2024, 3, 11, 9)),
    ("zero minutes", t(2024, 3, 4, 12), 0, t(2024, 3, 4, 12)),
    ("start in lunch break", t(2024, 3, 4, 12, 30), 1, t(2024, 3, 4, 13, 31)),
    ("a whole day ends at period end", t(2024, 3, 4, 18), 450, t(2024, 3, 5, 17, 30)),
    ("before opening", t(2024, 3, 4, 7), 10, t(2024, 3, 4, 8, 40)),
    ("Qingming holidays then 调休 Sunday", t(2024, 4, 3, 17), 60, t(2024, 4, 7, 9)),
    ("make-up Sunday 4/28", t(2024, 4, 27, 17), 30, t(2024, 4, 28, 9)),
    ("Labour Day holidays", t(2024, 4, 30, 17), 60, t(2024, 5, 6, 9)),
    ("make-up Saturday 5/11", t(2024, 5, 10, 17), 60, t(2024, 5, 11, 9)),
    ("three working days", t(2024, 3, 4, 8, 30), 1350, t(2024, 3, 6, 17, 30)),
    ("exactly to the lunch break", t(2024, 3, 4, 11), 60, t(2024, 3, 4, 12)),
    ("utc input", datetime.fromisoformat("2024-03-04T01:00:00+00:00"), 60, t(2024, 3, 4, 10)),
]


@pytest.mark.parametrize(("name", "start", "minutes", "expected"), CASES, ids=[c[0] for c in CASES])
def test_add(name: str, start: datetime, minutes: int, expected: datetime) -> None:
    assert CAL.add(start, minutes) == expected
    assert CAL.between(start, expected) == minutes


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (t(2024, 3, 11, 9), -60, t(2024, 3, 8, 17)),
        (t(2024, 3, 4, 14), -60, t(2024, 3, 4, 11, 30)),
        (t(2024, 5, 6, 9), -60, t(2024, 4, 30, 17)),
        (t(2024, 4, 8, 8, 30), -450, t(2024, 4, 7, 8, 30)),
    ],
)
def test_subtract(start: datetime, minutes: int, expected: datetime) -> None:
    assert CAL.add(start, minutes) == expected
    assert CAL.between(start, expected) == minutes


def test_between_counts_only_working_time() -> None:
    assert CAL.between(t(2024, 3, 8, 12), t(2024, 3, 11, 12)) == 240 + 210  # Fri pm + Mon am
    assert CAL.between(t(2024, 4, 3, 0), t(2024, 4, 8, 0)) == 450 * 2  # 4/3 + 调休 4/7
    assert CAL.between(t(2024, 3, 9, 0), t(2024, 3, 10, 23)) == 0
    assert (
        CAL.between(
            t(2024, 3, 4, 9, 0),
            t(
                2024,
                3,
                4,
                9,
                0,
            ),
        )
        == 0
    )


def test_workdays() -> None:
    assert CAL.is_workday(date(2024, 4, 7))  # Sunday, 调休
    assert not CAL.is_workday(date(2024, 4, 4))  # Thursday, holiday
    assert not CAL.is_workday(date(2024, 3, 9))
    assert CAL.is_working_time(t(2024, 3, 4, 9))
    assert not CAL.is_working_time(t(2024, 3, 4, 12, 30))
    assert CAL.minutes_per_day == 450


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 3, 1), max_value=datetime(2024, 6, 1)),
    minutes=st.integers(min_value=0, max_value=5000),
)
def test_between_inverts_add(start: datetime, minutes: int) -> None:
    aware = start.replace(tzinfo=TZ, second=0, microsecond=0)
    end = CAL.add(aware, minutes)
    assert CAL.between(aware, end) == minutes
    assert end >= aware
    back = CAL.add(end, -minutes)
    assert back >= aware
    assert CAL.between(aware, back) == 0  # only non-working time between them


def test_errors() -> None:
    with pytest.raises(CalendarError, match="带时区"):
        CAL.add(datetime(2024, 3, 4, 9), 10)
    with pytest.raises(CalendarError, match="递增"):
        WorkCalendar.build(("13:00-12:00",), TZ)
    with pytest.raises(CalendarError, match="既是节假日又是调休"):
        WorkCalendar.build(
            ("08:00-12:00",), TZ, holidays=[date(2024, 1, 1)], workdays=[date(2024, 1, 1)]
        )
    with pytest.raises(CalendarError, match="至少需要一个工作日"):
        WorkCalendar.build(("08:00-12:00",), TZ, weekend=range(1, 8))
