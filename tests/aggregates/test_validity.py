"""HJ 663-2013 / GB 3095-2012 Table 4 validity rules and the HJ 663 percentile."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregates.validity import (
    annual_valid,
    daily_mean,
    daily_mean_valid,
    hourly_valid,
    mda8,
    mean,
    monthly_valid,
    moving_8h,
    moving_mean,
    percentile,
)

from .conftest import VECTORS

PERCENTILE_CASES = VECTORS["percentile_cases"]


@pytest.mark.parametrize("case", PERCENTILE_CASES, ids=lambda c: f"p{c['p']}-n{len(c['values'])}")
def test_percentile_vectors(case: dict[str, Any]) -> None:
    got = percentile(case["values"], case["p"])
    assert got == Fraction(case["expected"])


def test_percentile_examples() -> None:
    assert percentile(range(1, 11), 90) == Fraction(91, 10)  # k = 9.1
    assert percentile([10, 1, 5, 3, 2, 4, 9, 8, 7, 6], 90) == Fraction(91, 10)  # sorts
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 100) == 10  # s = n
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0) == 1
    assert percentile([7], 95) == 7
    assert percentile([0.5, 0.9, 1.2, 0.7], 95) == Fraction("1.155")  # exact, floats via repr
    assert percentile([1, None, 3], 50) == 2  # None ignored
    with pytest.raises(ValueError, match="no valid values"):
        percentile([None, None], 90)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1, 2], 101)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=60),
    st.integers(min_value=0, max_value=100),
)
def test_percentile_equals_numpy_linear(values: list[int], p: int) -> None:
    expected = float(np.percentile(np.array(values, dtype=float), p, method="linear"))
    assert float(percentile(values, p)) == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_mean_exact() -> None:
    assert mean([0.1, 0.2]) == Fraction(3, 20)
    assert mean([None, 1, 2]) == Fraction(3, 2)
    assert mean([None]) is None
    assert mean([]) is None


def test_hourly_and_daily_minimums() -> None:
    assert hourly_valid(45) and not hourly_valid(44)
    assert daily_mean_valid(20) and not daily_mean_valid(19)
    assert daily_mean_valid(24)
    day = [10] * 20 + [None] * 4
    assert daily_mean(day) == 10
    assert daily_mean([10] * 19 + [None] * 5) is None
    assert daily_mean([Decimal("1.5")] * 24) == Fraction(3, 2)


def test_moving_8h_six_of_eight() -> None:
    hours: list[int | None] = [8] * 24
    out = moving_8h(hours)
    assert len(out) == 24
    assert out[:5] == [None] * 5  # fewer than 6 hours available yet
    assert out[5] == 8 and out[7] == 8
    # two gaps in a window: still 6 valid -> valid; three gaps -> invalid
    two_gaps: list[int | None] = [1, 2, None, 4, None, 6, 7, 8]
    assert moving_8h(two_gaps)[7] == Fraction(28, 6)
    three_gaps: list[int | None] = [1, None, None, 4, None, 6, 7, 8]
    assert moving_8h(three_gaps)[7] is None
    assert moving_8h([1, 2, 3, 4, 5, 6, 7, 8, 9])[8] == Fraction(44, 8)  # hours 2..9
    with pytest.raises(ValueError):
        moving_mean([1], 8, 9)


def _day(value: int | None = 50) -> list[int | None]:
    return [value] * 24


def test_mda8_windows_08_to_24() -> None:
    day = list(range(1, 25))  # hour ending h has value h
    # windows ending 08..24; the largest ends at 24: mean(17..24) = 20.5
    assert mda8(day) == Fraction(41, 2)
    # the 7 previous hours do not matter for the 08-24 windows
    assert mda8([1000] * 7 + day) == Fraction(41, 2)
    # ... unless windows ending before 08:00 are asked for
    assert mda8([1000] * 7 + day, first_window_end=1) == Fraction(7001, 8)  # ends 01:00
    with pytest.raises(ValueError, match="24 hourly values"):
        mda8(day[:-1])


def test_mda8_needs_14_valid_windows() -> None:
    # hours 1..16 valid, 17..24 missing: windows ending 8..18 have >= 6 valid hours
    # (ending 18: hours 11..18 -> 11..16 valid = 6) -> 11 valid windows < 14
    day: list[int | None] = [100] * 16 + [None] * 8
    assert mda8(day) is None
    # hours 1..19 valid: windows ending 8..21 valid = 14 -> valid
    day = [100] * 19 + [None] * 5
    assert mda8(day) == 100
    day = [100] * 18 + [None] * 6  # 13 windows
    assert mda8(day) is None
    assert mda8([None] * 24) is None


def test_mda8_exceedance_exception_is_opt_in() -> None:
    day: list[int | None] = [200] * 16 + [None] * 8  # 11 valid windows, max 200
    assert mda8(day) is None
    assert mda8(day, exceed_limit=160) == 200
    low: list[int | None] = [100] * 16 + [None] * 8
    assert mda8(low, exceed_limit=160) is None  # not above the limit: still invalid
    assert mda8(day, exceed_limit=200) is None  # must exceed, not equal


def test_monthly_valid_27_and_february_25() -> None:
    assert monthly_valid(27, 2024, 1) and not monthly_valid(26, 2024, 1)
    assert monthly_valid(25, 2023, 2) and not monthly_valid(24, 2023, 2)
    assert monthly_valid(25, 2024, 2)
    assert monthly_valid(27, 2024, 4) and not monthly_valid(26, 2024, 4)
    with pytest.raises(ValueError):
        monthly_valid(29, 2023, 2)
    with pytest.raises(ValueError):
        monthly_valid(20, 2023, 13)


def test_annual_valid_324_and_per_month() -> None:
    full = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert annual_valid(full)
    minimal = [27, 25, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27]  # 322 < 324
    assert sum(minimal) == 322 and not annual_valid(minimal)
    enough = [29, 25, 28, 27, 27, 27, 27, 27, 27, 27, 27, 27]  # 325, every month ok
    assert annual_valid(enough)
    one_bad_month = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 26]  # 360, Dec 26
    assert not annual_valid(one_bad_month)
    feb_24 = [31, 24, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert not annual_valid(feb_24)
    assert annual_valid(dict(enumerate(full, start=1)))
    assert not annual_valid({m: 31 for m in range(1, 12)})  # December absent -> 0
    with pytest.raises(ValueError):
        annual_valid(full[:11])
    with pytest.raises(ValueError):
        annual_valid({13: 1})
