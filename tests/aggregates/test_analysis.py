"""Pure parts of rankings and period analysis: ranks, daily indicators, composite index, IDW."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from aggregates.analysis import (
    AQI_FACTORS,
    DailyRow,
    aqci_of_series,
    clean_fraction,
    competition_ranks,
    daily_indicators,
    round_reported,
    to_aqi_units,
)
from aggregates.aqci import composite_index
from aggregates.aqi import daily_aqi
from aggregates.spatial import idw, idw_geojson
from aggregates.standards import AqciTable, AqiTable
from aggregates.validity import percentile


@pytest.mark.parametrize(
    ("values", "ranks"),
    [
        ([50, 40, 60], [2, 1, 3]),
        ([50, 50, 40, 60], [2, 2, 1, 4]),  # tie shares a rank, the next rank skips
        ([None, 10, 10, None], [None, 1, 1, None]),  # no value → unranked
        ([Decimal("4.85"), Decimal("4.85"), Decimal("4.86")], [1, 1, 3]),
        ([], []),
    ],
)
def test_competition_ranks(values: list[Any], ranks: list[int | None]) -> None:
    assert competition_ranks(values) == ranks


def test_daily_indicators_use_valid_values_only() -> None:
    rows = {
        "SO2": DailyRow(8.4, True),
        "NO2": DailyRow(35.5, True),  # half-even: 36
        "CO": DailyRow(0.75, True),  # half-even: 0.8
        "PM10": DailyRow(80.0, False),  # fewer than 20 valid hours: does not take part
        "PM2.5": DailyRow(34.5, True),  # half-even: 34
        "O3": DailyRow(90.0, True, max_1h=160.4, mda8=120.6, mda8_valid=False),
    }
    ind = daily_indicators(rows, {})
    assert ind == {
        "SO2_24h": Decimal(8),
        "NO2_24h": Decimal(36),
        "CO_24h": Decimal("0.8"),
        "PM10_24h": None,
        "PM2.5_24h": Decimal(34),
        "O3_1h_max": Decimal(160),
        "O3_8h_max": None,  # MDA8 with fewer than 14 valid windows
    }


def test_unit_factors_convert_mg_to_ug_exactly() -> None:
    assert to_aqi_units(0.0125, "a21026", {"a21026": 1000.0}) == Decimal("12.5")
    assert round_reported("SO2", to_aqi_units(0.0125, "a21026", {"a21026": 1000.0})) == 12
    assert to_aqi_units(2.2, "a21005", {}) == Decimal("2.2")
    rows = {"SO2": DailyRow(0.0155, True)}
    assert daily_indicators(rows, {AQI_FACTORS["SO2"]: 1000})["SO2_24h"] == Decimal(16)


def test_co_one_decimal_is_exact(t2012: AqiTable) -> None:
    # AQI.md: CO 24h 2.2 mg/m3 must give IAQI 55 (float arithmetic gives 56)
    ind = daily_indicators({"CO": DailyRow(2.2, True)}, {})
    assert daily_aqi(ind, t2012, round_inputs=False).iaqi["CO"] == 55


def test_clean_fraction_removes_float_noise() -> None:
    x = 0.1 + 0.2  # 0.30000000000000004
    assert clean_fraction(x) == Fraction(3, 10)
    assert clean_fraction(35.5) == Fraction(71, 2)


def test_aqci_of_series_matches_exact_composite_index(aqci2018: AqciTable) -> None:
    daily = {
        "SO2": [3.0, 5.0, 7.0],
        "NO2": [10.0, 20.0, 30.0],
        "PM10": [40.0, 50.0, 60.0],
        "PM2.5": [20.0, 30.0, 40.0],
        "CO": [0.5, 0.9, 1.3],
    }
    mda8 = [80.0, 100.0, 150.0]
    result = aqci_of_series(daily, mda8, aqci2018)
    assert result is not None
    expected = composite_index(
        {
            "SO2": 5,
            "NO2": 20,
            "PM10": 50,
            "PM2.5": 30,
            "CO": percentile([Fraction(5, 10), Fraction(9, 10), Fraction(13, 10)], 95),
            "O3": percentile([80, 100, 150], 90),
        },
        aqci2018,
    )
    assert result.aqci == expected.aqci
    assert result.statistics_rounded == expected.statistics_rounded


def test_aqci_of_series_missing_and_empty(aqci2018: AqciTable) -> None:
    assert aqci_of_series({}, [], aqci2018) is None
    partial = aqci_of_series({"PM2.5": [35.0]}, [], aqci2018)
    assert partial is not None
    assert partial.aqci == Decimal("1.00")
    assert "O3" in partial.missing


def test_numpy_percentile_is_hj663() -> None:
    xs = list(range(1, 11))
    assert float(np.percentile(xs, 90)) == float(percentile(xs, 90)) == 9.1


# -- IDW --------------------------------------------------------------------------------------
def test_idw_exact_at_station_and_midpoint() -> None:
    pts = [(120.0, 30.0, 10.0), (120.2, 30.0, 30.0)]
    grid = idw(pts, np.array([120.0, 120.1, 120.2]), np.array([30.0]))
    assert grid[0, 0] == 10.0
    assert grid[0, 2] == 30.0
    assert math.isclose(grid[0, 1], 20.0, rel_tol=1e-9)


def test_idw_max_distance_leaves_cells_empty() -> None:
    pts = [(120.0, 30.0, 10.0)]
    grid = idw(pts, np.array([120.0, 121.0]), np.array([30.0]), max_distance_km=20)
    assert grid[0, 0] == 10.0
    assert math.isnan(grid[0, 1])


def test_idw_geojson(t2012: AqiTable) -> None:
    pts = [(120.0, 30.0, 40.0), (120.1, 30.1, 160.0)]
    fc = idw_geojson(pts, (120.0, 30.0, 120.1, 30.1), 0.05, levels=t2012.levels)
    assert fc["type"] == "FeatureCollection"
    assert fc["properties"]["shape"] == [2, 2]
    assert len(fc["features"]) == 4
    colors = {f["properties"]["color"] for f in fc["features"]}
    assert colors <= {lv.hex for lv in t2012.levels}
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    with pytest.raises(ValueError, match="bbox"):
        idw_geojson(pts, (121.0, 30.0, 120.0, 31.0), 0.1)
    with pytest.raises(ValueError, match="larger cell"):
        idw_geojson(pts, (100.0, 20.0, 130.0, 50.0), 0.01)


# -- the fast composite index used by the rankings --------------------------------------------
@pytest.mark.parametrize("variant", ["per_index", "rounded_statistics", "exact"])
@pytest.mark.parametrize("on", ["2020-01-01", "2026-06-01"])
def test_fast_composite_index_equals_exact(variant: str, on: str, registry: Any) -> None:
    import random
    from dataclasses import replace
    from datetime import date

    from aggregates.analysis import fast_composite_index

    table = replace(registry.aqci(date.fromisoformat(on)), rounding=variant)
    rng = random.Random(663)
    ties = [0.0, 0.5, 0.25, 0.05, 0.125]
    for i in range(600):
        stats = {
            "SO2": rng.randint(0, 60) + rng.choice(ties),
            "NO2": rng.uniform(0, 90),
            "PM10": rng.randint(0, 250) + rng.choice(ties),
            "PM2.5": rng.uniform(0, 150),
            "CO": rng.randint(0, 40) / 10 + rng.choice([0.0, 0.05, 0.01]),
            "O3": rng.uniform(20, 260),
        }
        if i % 5 == 0:
            del stats["O3"]
        fast = fast_composite_index(stats, table)
        exact = composite_index(
            {k: clean_fraction(v) for k, v in stats.items()}, table, allow_missing=True
        )
        assert fast is not None
        assert fast.aqci == exact.aqci, stats
        assert dict(fast.statistics_rounded) == dict(exact.statistics_rounded)
        assert fast.max_index_pollutants == exact.max_index_pollutants
        assert fast.missing == exact.missing


def test_percentile_linear_matches_hj663() -> None:
    from aggregates.analysis import percentile_linear

    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 10, 31, 365):
        xs = rng.uniform(0, 100, n)
        for p in (90, 95, 98):
            assert percentile_linear(xs, p) == pytest.approx(
                float(percentile(list(xs), p)), rel=1e-12
            )


def test_numpy_floats_convert_exactly() -> None:
    from aggregates.standards import to_fraction

    assert to_fraction(np.float64(2.2)) == Fraction(11, 5)
    assert to_fraction(np.float32(0.5)) == Fraction(1, 2)
