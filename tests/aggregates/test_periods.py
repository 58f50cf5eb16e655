"""Periods: 旬 boundaries, weeks, months, years, local-day boundaries, period validity."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregates.periods import (
    Period,
    day_bounds,
    local_date,
    month_parts,
    period_of,
    period_valid,
    required_valid_days,
    xun_of,
)

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("day", "start", "end", "label"),
    [
        (date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 11), "2024年3月上旬"),
        (date(2024, 3, 10), date(2024, 3, 1), date(2024, 3, 11), "2024年3月上旬"),
        (date(2024, 3, 11), date(2024, 3, 11), date(2024, 3, 21), "2024年3月中旬"),
        (date(2024, 3, 20), date(2024, 3, 11), date(2024, 3, 21), "2024年3月中旬"),
        (date(2024, 3, 21), date(2024, 3, 21), date(2024, 4, 1), "2024年3月下旬"),
        (date(2024, 3, 31), date(2024, 3, 21), date(2024, 4, 1), "2024年3月下旬"),
        (date(2024, 2, 29), date(2024, 2, 21), date(2024, 3, 1), "2024年2月下旬"),  # 9 days
        (date(2023, 2, 28), date(2023, 2, 21), date(2023, 3, 1), "2023年2月下旬"),  # 8 days
        (date(2023, 4, 30), date(2023, 4, 21), date(2023, 5, 1), "2023年4月下旬"),  # 10 days
        (date(2023, 12, 31), date(2023, 12, 21), date(2024, 1, 1), "2023年12月下旬"),
    ],
)
def test_xun_boundaries(day: date, start: date, end: date, label: str) -> None:
    assert xun_of(day) == (start, end)
    per = period_of("xun", day)
    assert (per.start, per.end, per.label) == (start, end, label)


@pytest.mark.parametrize(
    ("kind", "day", "start", "end"),
    [
        ("day", date(2024, 3, 5), date(2024, 3, 5), date(2024, 3, 6)),
        ("hour", date(2024, 3, 5), date(2024, 3, 5), date(2024, 3, 6)),
        ("week", date(2024, 3, 6), date(2024, 3, 4), date(2024, 3, 11)),  # Wednesday → Monday
        ("week", date(2024, 3, 10), date(2024, 3, 4), date(2024, 3, 11)),  # Sunday
        ("week", date(2024, 12, 31), date(2024, 12, 30), date(2025, 1, 6)),  # across the year
        ("month", date(2024, 2, 15), date(2024, 2, 1), date(2024, 3, 1)),
        ("month", date(2024, 12, 31), date(2024, 12, 1), date(2025, 1, 1)),
        ("year", date(2024, 6, 1), date(2024, 1, 1), date(2025, 1, 1)),
    ],
)
def test_periods(kind: str, day: date, start: date, end: date) -> None:
    per = period_of(kind, day)  # type: ignore[arg-type]
    assert (per.start, per.end) == (start, end)
    assert per.days == (end - start).days
    assert next(iter(per.iter_days())) == start


def test_custom_period_is_inclusive_as_typed() -> None:
    per = period_of("custom", date(2024, 3, 1), date(2024, 3, 20))
    assert (per.start, per.end, per.days) == (date(2024, 3, 1), date(2024, 3, 21), 20)
    with pytest.raises(ValueError, match="before it starts"):
        period_of("custom", date(2024, 3, 2), date(2024, 3, 1))
    with pytest.raises(ValueError, match="needs an end"):
        period_of("custom", date(2024, 3, 2))
    with pytest.raises(ValueError, match="empty period"):
        Period("custom", date(2024, 3, 2), date(2024, 3, 2))
    with pytest.raises(ValueError, match="unknown period"):
        Period("fortnight", date(2024, 3, 2), date(2024, 3, 3))  # type: ignore[arg-type]


def test_labels() -> None:
    assert period_of("month", date(2024, 3, 9)).label == "2024年3月"
    assert period_of("year", date(2024, 3, 9)).label == "2024年"
    assert period_of("day", date(2024, 3, 9)).label == "2024年3月9日"
    assert period_of("week", date(2024, 3, 6)).label.startswith("2024年第10周")


@pytest.mark.parametrize(
    ("day", "lo", "hi"),
    [
        # a local day starts at 16:00 UTC of the previous calendar day
        (
            date(2024, 3, 1),
            datetime(2024, 2, 29, 16, tzinfo=UTC),
            datetime(2024, 3, 1, 16, tzinfo=UTC),
        ),
        (
            date(2024, 1, 1),
            datetime(2023, 12, 31, 16, tzinfo=UTC),
            datetime(2024, 1, 1, 16, tzinfo=UTC),
        ),
    ],
)
def test_day_bounds_are_local_midnights(day: date, lo: datetime, hi: datetime) -> None:
    assert day_bounds(day, SH) == (lo, hi)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (datetime(2024, 3, 1, 0, 0, tzinfo=UTC), date(2024, 3, 1)),  # UTC midnight = 08:00 local
        (datetime(2024, 3, 1, 15, 59, 59, tzinfo=UTC), date(2024, 3, 1)),  # 23:59:59 local
        (datetime(2024, 3, 1, 16, 0, tzinfo=UTC), date(2024, 3, 2)),  # local midnight
        (datetime(2024, 2, 29, 16, 30, tzinfo=UTC), date(2024, 3, 1)),
    ],
)
def test_local_date(ts: datetime, expected: date) -> None:
    assert local_date(ts, SH) == expected
    assert local_date(ts, ZoneInfo("UTC")) == ts.date()


def test_local_date_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2024, 3, 1), SH)


def test_month_parts() -> None:
    assert month_parts(date(2024, 1, 25), date(2024, 3, 3)) == [
        (2024, 1, 7),
        (2024, 2, 29),
        (2024, 3, 2),
    ]


@pytest.mark.parametrize(
    ("year", "month", "covered", "needed"),
    [
        (2024, 3, 31, 27),  # a whole month: GB 3095 Table 4
        (2024, 4, 30, 27),
        (2023, 2, 28, 25),  # February 25
        (2024, 2, 29, 25),
        (2024, 3, 10, 9),  # a 旬: ceil(10 × 27 / 31)
        (2024, 3, 7, 7),  # a week
        (2024, 2, 9, 8),  # February 下旬 of a leap year: ceil(9 × 25 / 29)
    ],
)
def test_required_valid_days(year: int, month: int, covered: int, needed: int) -> None:
    assert required_valid_days(year, month, covered) == needed


def test_period_valid_month_and_february() -> None:
    march = period_of("month", date(2024, 3, 1))
    assert period_valid(march, {(2024, 3): 27})
    assert not period_valid(march, {(2024, 3): 26})
    feb = period_of("month", date(2023, 2, 1))
    assert period_valid(feb, {(2023, 2): 25})
    assert not period_valid(feb, {(2023, 2): 24})


def test_period_valid_year_needs_324_and_every_month() -> None:
    year = period_of("year", date(2023, 1, 1))
    full = {(2023, m): 27 for m in range(1, 13)}
    full[(2023, 2)] = 25
    assert sum(full.values()) == 322
    assert not period_valid(year, full)  # every month fine but < 324 days
    full[(2023, 3)] = 29
    full[(2023, 5)] = 29
    assert period_valid(year, full)
    full[(2023, 7)] = 26  # one month short
    full[(2023, 8)] = 31
    assert not period_valid(year, full)


def test_period_valid_xun_and_custom() -> None:
    xun = period_of("xun", date(2024, 3, 5))
    assert period_valid(xun, {(2024, 3): 9})
    assert not period_valid(xun, {(2024, 3): 8})
    custom = period_of("custom", date(2024, 1, 25), date(2024, 2, 10))  # 7 + 10 days
    assert period_valid(custom, {(2024, 1): 7, (2024, 2): 9})
    assert not period_valid(custom, {(2024, 1): 7, (2024, 2): 8})
    with pytest.raises(ValueError, match="20 valid hours"):
        period_valid(period_of("day", date(2024, 1, 1)), {})
