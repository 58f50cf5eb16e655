"""HJ 633 AQI: every case of aqi_vectors_2012.json plus the rules of AQI.md §1."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregates.aqi import (
    aqi_level,
    compute_aqi,
    daily_aqi,
    hourly_aqi,
    iaqi,
    iaqi_exact,
    round_concentration,
)
from aggregates.standards import AqiTable, default_registry, to_fraction

from .conftest import VECTORS

IAQI_CASES = VECTORS["iaqi_cases"]
AQI_CASES = VECTORS["aqi_cases"]
LEVEL_CASES = VECTORS["level_cases"]


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['pollutant']}_{case['averaging']}={case['concentration']}"


# ---------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("case", IAQI_CASES, ids=_case_id)
def test_iaqi_vectors(case: dict[str, Any], t2012: AqiTable) -> None:
    column = f"{case['pollutant']}_{case['averaging']}"
    assert iaqi(column, case["concentration"], t2012) == case["expected_iaqi"]


@pytest.mark.parametrize("case", IAQI_CASES, ids=_case_id)
def test_iaqi_vectors_as_float_and_str(case: dict[str, Any], t2012: AqiTable) -> None:
    column = f"{case['pollutant']}_{case['averaging']}"
    value = case["concentration"]
    assert iaqi(column, float(value), t2012) == case["expected_iaqi"]
    assert iaqi(column, str(value), t2012) == case["expected_iaqi"]


@pytest.mark.parametrize("case", AQI_CASES, ids=[c["description"] for c in AQI_CASES])
def test_aqi_vectors(case: dict[str, Any], t2012: AqiTable) -> None:
    fn = hourly_aqi if case["report"] == "hourly" else daily_aqi
    result = fn(case["concentrations"], t2012)
    assert result.aqi == case["expected_aqi"]
    assert list(result.primary) == case["expected_primary"]
    assert list(result.primary_indicators) == case["expected_primary_indicators"]
    assert result.level == case["expected_level"]
    assert result.level_cn == case["expected_level_cn"]
    assert result.category == case["expected_category"]
    assert result.color == case["expected_color_hex"]
    assert list(result.exceedance) == case["expected_exceedance"]
    assert dict(result.iaqi) == case["expected_iaqi"]
    assert result.standard == "HJ 633—2012"
    assert result.report == case["report"]
    level = aqi_level(result.aqi, t2012)
    assert level is not None
    assert list(level.rgb) == case["expected_color_rgb"]


@pytest.mark.parametrize("case", AQI_CASES, ids=[c["description"] for c in AQI_CASES])
def test_aqi_vectors_with_float_inputs(case: dict[str, Any], t2012: AqiTable) -> None:
    conc = {k: float(v) for k, v in case["concentrations"].items()}
    result = compute_aqi(case["report"], conc, t2012)
    assert result.aqi == case["expected_aqi"]
    assert dict(result.iaqi) == case["expected_iaqi"]


@pytest.mark.parametrize("case", LEVEL_CASES, ids=[str(c["aqi"]) for c in LEVEL_CASES])
def test_level_vectors(case: dict[str, Any], t2012: AqiTable, t2026: AqiTable) -> None:
    for table in (t2012, t2026):
        level = aqi_level(case["aqi"], table)
        assert level is not None
        assert level.level == case["level"]
        assert level.level_cn == case["level_cn"]
        assert level.category == case["category"]
        assert level.color_name == case["color_name"]
        assert list(level.rgb) == case["rgb"]
        assert level.hex == case["hex"]
        assert list(level.cmyk) == case["cmyk"]
        assert level.health_effect and level.advice


# ---------------------------------------------------------------------------- exactness


def test_co_2_2_pitfall(t2012: AqiTable) -> None:
    """AQI.md: CO 24h 2.2 mg/m3 is IAQI 55; binary floating point gives 56."""
    float_naive = (100 - 50) / (4 - 2) * (2.2 - 2) + 50
    assert float_naive > 55  # the trap
    for value in (2.2, "2.2", Decimal("2.2"), Fraction(11, 5)):
        assert iaqi("CO_24h", value, t2012) == 55
    assert daily_aqi({"CO_24h": 2.2}, t2012).aqi == 55
    assert iaqi_exact(t2012.columns["CO_24h"], Fraction(11, 5)) == 55


def test_ceil_not_round(t2012: AqiTable) -> None:
    # PM2.5 36 -> 50 + 50/40 = 51.25 -> 52 (ceil), NO2 24h 41 -> 51.25 -> 52
    assert iaqi("PM2.5_24h", 36, t2012) == 52
    assert iaqi("NO2_24h", 41, t2012) == 52
    # exact values stay: PM10 200 -> 125 exactly; SO2 24h 312 -> 124.92... -> 125
    assert iaqi_exact(t2012.columns["PM10_24h"], Fraction(200)) == Fraction(125)
    assert iaqi("PM10_24h", 200, t2012) == 125
    assert iaqi_exact(t2012.columns["SO2_24h"], Fraction(312)) == Fraction(1624, 13)
    assert iaqi("SO2_24h", 312, t2012) == 125


def test_segments_are_continuous(t2012: AqiTable) -> None:
    """AQI.md §1.2: PM2.5 36 lies in [35, 75] -> [50, 100] (not EPA 36-75 -> 51-100)."""
    assert iaqi_exact(t2012.columns["PM2.5_24h"], Fraction(36)) == Fraction(205, 4)
    for col in t2012.columns.values():
        for bp, level in zip(col.breakpoints, col.iaqi_levels, strict=True):
            assert iaqi(col.key, bp, t2012) == level


def test_cap_at_500_and_not_computed(t2012: AqiTable) -> None:
    assert iaqi("PM2.5_24h", 500, t2012) == 500
    assert iaqi("PM2.5_24h", 501, t2012) == 500
    assert iaqi("CO_1h", 1000, t2012) == 500
    assert iaqi("SO2_1h", 800, t2012) == 200
    assert iaqi("SO2_1h", "800.1", t2012) is None
    assert iaqi("O3_8h", 800, t2012) == 300
    assert iaqi("O3_8h", 801, t2012) is None
    assert iaqi("O3_8h_max", 801, t2012) is None
    assert iaqi("PM10_1h", 150, t2012) == 100  # hourly PM on the 24h column


def test_iaqi_errors(t2012: AqiTable) -> None:
    with pytest.raises(ValueError, match="negative"):
        iaqi("SO2_24h", -1, t2012)
    with pytest.raises(KeyError, match="NO2_8h"):
        iaqi("NO2_8h", 1, t2012)
    for bad in ("abc", "nan", float("inf"), True, None, [1]):
        with pytest.raises(ValueError, match="SO2_24h"):
            iaqi("SO2_24h", bad, t2012)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=6000), st.sampled_from(["SO2_24h", "PM10_24h", "CO_24h"]))
def test_iaqi_monotonic_and_bounded(n: int, column: str) -> None:
    table = default_registry().aqi_table(date(2020, 1, 1))
    tenth = Fraction(n, 10)
    a = iaqi(column, tenth, table)
    b = iaqi(column, tenth + Fraction(1, 10), table)
    assert a is not None and b is not None
    assert 0 <= a <= b <= 500


# ---------------------------------------------------------------------------- AQI rules


def test_boundaries_50_51_100_101(t2012: AqiTable) -> None:
    cases = {35: (50, 1, ()), 36: (52, 2, ("PM2.5",)), 75: (100, 2, ("PM2.5",))}
    for conc, (aqi, level, primary) in cases.items():
        r = daily_aqi({"PM2.5_24h": conc}, t2012)
        assert (r.aqi, r.level, r.primary, r.exceedance) == (aqi, level, primary, ())
    r = daily_aqi({"SO2_24h": 152}, t2012)  # 100 + 2*50/325 -> 100.3 -> 101
    assert (r.aqi, r.level, r.category, r.exceedance) == (101, 3, "轻度污染", ("SO2",))
    r = daily_aqi({"SO2_24h": 51}, t2012)
    assert (r.aqi, r.level, r.primary) == (51, 2, ("SO2",))
    r = daily_aqi({"SO2_24h": 50}, t2012)
    assert (r.aqi, r.level, r.primary) == (50, 1, ())
    for aqi, level in ((50, 1), (51, 2), (100, 2), (101, 3), (150, 3), (151, 4), (200, 4)):
        found = aqi_level(aqi, t2012)
        assert found is not None and found.level == level
    for aqi, level in ((201, 5), (300, 5), (301, 6), (500, 6)):
        found = aqi_level(aqi, t2012)
        assert found is not None and found.level == level


def test_iaqi_100_is_not_exceedance(t2012: AqiTable) -> None:
    r = daily_aqi({"PM10_24h": 150, "NO2_24h": 81}, t2012)
    assert r.iaqi == {"NO2": 101, "PM10": 100}
    assert r.exceedance == ("NO2",)


def test_ties_all_primary(t2012: AqiTable) -> None:
    r = daily_aqi(
        {"SO2_24h": 150, "NO2_24h": 80, "PM10_24h": 150, "CO_24h": 4, "PM2.5_24h": 75},
        t2012,
    )
    assert r.aqi == 100
    assert r.primary == ("SO2", "NO2", "PM10", "CO", "PM2.5")
    assert r.primary_indicators == ("SO2_24h", "NO2_24h", "CO_24h", "PM10_24h", "PM2.5_24h")
    assert r.exceedance == ()
    # a tie at AQI <= 50 has no primary pollutant
    r = daily_aqi({"SO2_24h": 50, "PM2.5_24h": 35}, t2012)
    assert (r.aqi, r.primary) == (50, ())


def test_daily_o3_uses_max_of_1h_and_8h(t2012: AqiTable) -> None:
    r = daily_aqi({"O3_1h_max": 300, "O3_8h_max": 160}, t2012)
    assert r.iaqi == {"O3": 150}
    assert r.indicator_iaqi == {"O3_1h_max": 150, "O3_8h_max": 100}
    assert r.primary_indicators == ("O3_1h_max",)
    # note 3: O3 8h max > 800 is not indexed, the 1h one stands
    r = daily_aqi({"O3_1h_max": 900, "O3_8h_max": 850, "PM2.5_24h": 20}, t2012)
    assert r.indicator_iaqi["O3_8h_max"] is None
    assert r.iaqi["O3"] == 350
    assert r.aqi == 350 and r.primary_indicators == ("O3_1h_max",)
    # ... and without the 1h value O3 has no IAQI at all
    r = daily_aqi({"O3_8h_max": 850, "PM2.5_24h": 20}, t2012)
    assert r.iaqi == {"O3": None, "PM2.5": 29}
    assert r.aqi == 29


def test_hourly_so2_substitution(t2012: AqiTable) -> None:
    # note 2: SO2 1h > 800 -> SO2 IAQI from the 24h average
    r = hourly_aqi({"SO2_1h": 900, "SO2_24h": 300, "PM2.5_1h": 35}, t2012)
    assert r.indicator_iaqi == {"SO2_1h": None, "PM2.5_1h": 50, "SO2_24h": 124}
    assert r.iaqi == {"SO2": 124, "PM2.5": 50}
    assert r.primary_indicators == ("SO2_24h",)
    # SO2 1h <= 800: the 24h value is shown but does not take part
    r = hourly_aqi({"SO2_1h": 100, "SO2_24h": 1000, "PM2.5_1h": 35}, t2012)
    assert r.iaqi == {"SO2": 34, "PM2.5": 50}
    assert r.indicator_iaqi["SO2_24h"] == 225
    assert r.aqi == 50
    # SO2 1h > 800 without a 24h value: SO2 not computed, AQI from the others
    r = hourly_aqi({"SO2_1h": 900, "PM2.5_1h": 35}, t2012)
    assert r.iaqi == {"SO2": None, "PM2.5": 50}
    assert r.aqi == 50


def test_hourly_moving_averages_opt_in(t2012: AqiTable) -> None:
    conc = {"O3_1h": 100, "O3_8h": 200, "PM2.5_1h": 30, "PM2.5_24h": 80}
    default = hourly_aqi(conc, t2012)
    assert default.iaqi == {"O3": 32, "PM2.5": 43}
    assert default.indicator_iaqi == {"O3_1h": 32, "PM2.5_1h": 43, "O3_8h": 137, "PM2.5_24h": 107}
    alt = hourly_aqi(conc, t2012, include_moving_averages=True)
    assert alt.iaqi == {"O3": 137, "PM2.5": 107}
    assert alt.primary == ("O3",) and alt.exceedance == ("O3", "PM2.5")
    # note 3 in the real-time report: O3 8h > 800 leaves the 1h one
    alt = hourly_aqi({"O3_1h": 1000, "O3_8h": 900}, t2012, include_moving_averages=True)
    assert alt.iaqi == {"O3": 400}


def test_missing_pollutants_and_no_data(t2012: AqiTable) -> None:
    r = hourly_aqi({"SO2_1h": None, "PM10_1h": 60}, t2012)
    assert r.iaqi == {"PM10": 55}
    empty = hourly_aqi({}, t2012)
    assert empty.aqi is None and empty.level is None and empty.category is None
    assert empty.primary == () and empty.exceedance == () and dict(empty.iaqi) == {}
    assert (empty.color, empty.color_name, empty.published) == (None, None, False)
    assert empty.display_color(t2012) == "#999999"
    assert aqi_level(None, t2012) is None
    assert hourly_aqi({"SO2_1h": None}, t2012).aqi is None


def test_input_errors(t2012: AqiTable) -> None:
    with pytest.raises(ValueError, match="unknown hourly indicator 'SO2_2h'"):
        hourly_aqi({"SO2_2h": 1}, t2012)
    with pytest.raises(ValueError, match="unknown daily indicator 'O3_1h'"):
        daily_aqi({"O3_1h": 1}, t2012)
    with pytest.raises(ValueError, match="PM10_1h: negative"):
        hourly_aqi({"PM10_1h": -0.1}, t2012)
    with pytest.raises(ValueError, match="NO2_1h: not a number"):
        hourly_aqi({"NO2_1h": "x"}, t2012)
    with pytest.raises(ValueError, match="unknown report"):
        compute_aqi("weekly", {}, t2012)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative AQI"):
        aqi_level(-1, t2012)


def test_inputs_rounded_half_even(t2012: AqiTable) -> None:
    # 35.5 -> 36 (half-even) -> 52; unrounded it would be ceil(50.625) = 51
    assert daily_aqi({"PM2.5_24h": "35.5"}, t2012).aqi == 52
    assert daily_aqi({"PM2.5_24h": "35.5"}, t2012, round_inputs=False).aqi == 51
    # 36.5 -> 36 (half-even)
    assert daily_aqi({"PM2.5_24h": "36.5"}, t2012).aqi == 52
    # CO 2.25 -> 2.2 -> 55; 2.35 -> 2.4 -> 60
    assert daily_aqi({"CO_24h": "2.25"}, t2012).aqi == 55
    assert daily_aqi({"CO_24h": "2.35"}, t2012).aqi == 60


def test_round_concentration() -> None:
    assert round_concentration("PM2.5", "35.5") == Decimal("36")
    assert round_concentration("PM2.5", "36.5") == Decimal("36")
    assert round_concentration("SO2_24h", 2.5) == Decimal("2")
    assert round_concentration("O3", Fraction(7, 2)) == Decimal("4")
    assert round_concentration("CO", 2.25) == Decimal("2.2")
    assert round_concentration("CO_1h", 2.35) == Decimal("2.4")
    assert round_concentration("CO", "2.2500001") == Decimal("2.3")
    assert str(round_concentration("CO", 2)) == "2.0"
    assert round_concentration("NO2", "1.2345", decimals=3) == Decimal("1.234")
    with pytest.raises(KeyError):
        round_concentration("TSP", 1)


def test_to_fraction_keeps_decimal_value() -> None:
    assert to_fraction(2.2) == Fraction(11, 5)
    assert to_fraction(0.1) + to_fraction(0.2) == to_fraction(0.3)
    assert to_fraction(" 1e2 ") == 100
    assert to_fraction(Decimal("0.35")) == Fraction(7, 20)


def test_result_is_frozen_and_json(t2012: AqiTable) -> None:
    r = hourly_aqi({"PM2.5_1h": 36, "CO_1h": "0.6"}, t2012)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.aqi = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.iaqi["CO"] = 1  # type: ignore[index]
    assert not hasattr(r, "__dict__")
    assert r.to_json() == {
        "aqi": 52,
        "published": True,
        "level": 2,
        "level_cn": "二级",
        "category": "良",
        "color": "#FFFF00",
        "color_name": "黄色",
        "health_effect": "空气质量可接受，但某些污染物可能对极少数异常敏感人群健康有较弱影响",
        "advice": "极少数异常敏感人群应减少户外活动",
        "primary": ["PM2.5"],
        "primary_indicators": ["PM2.5_1h"],
        "exceedance": [],
        "iaqi": {"CO": 6, "PM2.5": 52},
        "indicator_iaqi": {"CO_1h": 6, "PM2.5_1h": 52},
        "missing_indicators": ["SO2_1h", "NO2_1h", "O3_1h", "PM10_1h"],
        "ignored": [],
        "sensitive_groups": {},
        "standard": "HJ 633—2012",
        "report": "hourly",
    }


# ---------------------------------------------------------------------------- 2026 table


def test_2026_pm_breakpoints(t2026: AqiTable, t2012: AqiTable) -> None:
    assert t2026.code == "HJ 633—2026"
    assert iaqi("PM2.5_24h", 60, t2026) == 100
    assert iaqi("PM2.5_24h", 60, t2012) == 82
    assert iaqi("PM2.5_24h", 61, t2026) == 101  # 100 + 50/55 -> ceil
    assert iaqi("PM10_24h", 120, t2026) == 100
    assert iaqi("PM10_24h", 120, t2012) == 85
    assert iaqi("PM2.5_1h", 60, t2026) == 100
    # every other breakpoint is unchanged (AQI-2026.md §1.6)
    for key, col in t2012.columns.items():
        if key not in ("PM2.5_24h", "PM10_24h"):
            assert t2026.columns[key].breakpoints == col.breakpoints
    # Table 3 notes b and c: flat IAQIs above 800 instead of "not computed"
    assert (iaqi("SO2_1h", 900, t2012), iaqi("SO2_1h", 900, t2026)) == (None, 200)
    assert (iaqi("O3_8h", 801, t2012), iaqi("O3_8h", 801, t2026)) == (None, 300)
    assert iaqi("O3_8h", 800, t2026) == 300 and iaqi("SO2_1h", 800, t2026) == 200
