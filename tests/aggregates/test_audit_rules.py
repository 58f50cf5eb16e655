"""Pure parts of the data audit: ranges people type, and the pre-audit rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregates.audit import AuditError, AuditRequest, hour_range, parse_instant
from aggregates.audit.proposals import HourValue, Range, find, instrument_ranges

TZ = ZoneInfo("Asia/Shanghai")
H = datetime(2024, 3, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "start", "hours"),
    [
        ("2024-03-05T08:00", "2024-03-05T08:00", "2024-03-05T00:00+00:00", 1),
        ("2024-03-05T08:30", "2024-03-05T10:59", "2024-03-05T00:00+00:00", 3),
        ("2024-03-05", "2024-03-05", "2024-03-04T16:00+00:00", 24),
        ("2024-03-05T00:00Z", "2024-03-05T00:00Z", "2024-03-05T00:00+00:00", 1),
        ("2024-03-01", "2024-03-31", "2024-02-29T16:00+00:00", 31 * 24),
    ],
)
def test_inclusive_ranges_of_whole_hours(first: str, last: str, start: str, hours: int) -> None:
    lo, hi = hour_range(parse_instant(first, TZ), parse_instant(last, TZ, end=True))
    assert lo == datetime.fromisoformat(start)
    assert hi - lo == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2024-03-05T09:00", "2024-03-05T08:00", "结束时间早于开始时间"),
        ("2024-01-01", "2025-12-31", "最多覆盖"),
        ("yesterday", "2024-03-05", "时间格式不正确"),
        ("2024-03-05T25:00", "2024-03-05", "时间格式不正确"),
    ],
)
def test_bad_ranges_are_refused(first: str, last: str, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        hour_range(parse_instant(first, TZ), parse_instant(last, TZ, end=True))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mn": " "}, "MN"),
        ({"start": H + timedelta(minutes=5)}, "整点"),
        ({"reason": "x" * 201}, "原因"),
        ({"note": "x" * 2001}, "备注"),
    ],
)
def test_requests_are_checked(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"mn": "ST1", "start": H, "end": H + timedelta(hours=2)}
    with pytest.raises(AuditError, match=message):
        AuditRequest(**{**base, **kwargs})  # type: ignore[arg-type]


RANGES = {"a34004": Range(0, 1000), "a34002": Range(0, 1000)}


def _h(code: str, value: float, hour: int = 0, c: int = 0, m: int = 0, sid: int = 1) -> HourValue:
    fid = {"a34004": 1, "a34002": 2, "a01001": 3}[code]
    return HourValue(sid, fid, code, H + timedelta(hours=hour), value, c, m)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ([_h("a34004", 35)], []),
        ([_h("a34004", -2)], [("a34004", "negative", "数值 -2 为负")]),
        ([_h("a01001", -5)], []),  # a temperature may be negative: no range, no rule
        ([_h("a34004", 1200)], [("a34004", "range", "数值 1200 超出量程 0–1000")]),
        ([_h("a34004", 30, c=3)], [("a34004", "calibration", "该小时含校准(C) 3 条")]),
        (
            [_h("a34002", 30, m=1, c=2)],
            [("a34002", "calibration", "该小时含校准(C) 2 条、维护(M) 1 条")],
        ),
        (
            [_h("a34004", 80), _h("a34002", 60)],
            [
                ("a34004", "pm25_gt_pm10", "PM2.5 80 > PM10 60"),
                ("a34002", "pm25_gt_pm10", "PM2.5 80 > PM10 60"),
            ],
        ),
        ([_h("a34004", 60), _h("a34002", 60)], []),  # equal is fine
        ([_h("a34004", 80), _h("a34002", 60, hour=1)], []),  # other hour
        ([_h("a34004", 80), _h("a34002", 60, sid=2)], []),  # other station
    ],
)
def test_pre_audit_rules(hours: list[HourValue], expected: list[tuple[str, str, str]]) -> None:
    codes = {1: "a34004", 2: "a34002", 3: "a01001"}
    got = [(codes[f.factor_id], f.rule, f.detail) for f in find(hours, RANGES)]
    assert got == expected


@pytest.mark.parametrize(
    ("value", "rules"),
    [(0.9, []), (1.2, ["range"]), (-0.001, ["negative"])],
)
def test_stored_units_are_scaled_to_the_ranges(value: float, rules: list[str]) -> None:
    """A platform storing mg/m³ (aggregates.unit_factors a34004 = 1000): 1.2 mg/m³ is
    1200 µg/m³, beyond the 0–1000 µg/m³ range."""
    got = find([_h("a34004", value)], RANGES, {"a34004": 1000.0})
    assert [f.rule for f in got] == rules


def test_the_shipped_ranges_cover_the_six_aqi_pollutants() -> None:
    ranges = instrument_ranges()
    assert set(ranges) == {"a34004", "a34002", "a21026", "a21004", "a05024", "a21005"}
    assert all(r.low == 0 and r.high > 0 for r in ranges.values())
