"""Composite index (综合指数, AQI.md §2.4): every AQCI vector and the rounding variants."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from aggregates.aqci import PeriodStats, composite_index, period_stats, single_indices
from aggregates.standards import AQCI_ROUNDINGS, AqciTable, StandardRegistry
from aggregates.validity import percentile

from .conftest import VECTORS

AQCI_CASES = VECTORS["aqci_cases"]


def _stats(case: dict[str, Any], table: AqciTable) -> PeriodStats | dict[str, Any]:
    if "statistics_inputs" in case:
        return dict(case["statistics_inputs"])
    return period_stats(case["daily_inputs"], table=table)


@pytest.mark.parametrize("case", AQCI_CASES, ids=[c["description"] for c in AQCI_CASES])
@pytest.mark.parametrize("rounding", AQCI_ROUNDINGS)
def test_aqci_vectors(case: dict[str, Any], rounding: str, aqci2018: AqciTable) -> None:
    result = composite_index(_stats(case, aqci2018), aqci2018, rounding=rounding)  # type: ignore[arg-type]
    assert result.aqci == Decimal(case["expected_aqci"]).quantize(Decimal("0.01"))
    assert abs(result.aqci_unrounded - Fraction(case["expected_aqci_unrounded"])) < Fraction(
        1, 10**6
    )
    for pol, expected in case["expected_statistics"].items():
        assert abs(result.statistics[pol] - Fraction(expected)) < Fraction(1, 10**6), pol
    for pol, expected in case["expected_statistics_rounded"].items():
        assert result.statistics_rounded[pol] == Decimal(expected), pol
    for pol, expected in case["expected_single_indices"].items():
        assert abs(result.indices[pol] - Fraction(expected)) < Fraction(1, 10**6), pol
    assert list(result.max_index_pollutants) == case["expected_max_single_index_pollutants"]
    assert result.standard == aqci2018.code
    assert result.rounding == rounding
    assert result.missing == ()


@pytest.mark.parametrize("case", AQCI_CASES, ids=[c["description"] for c in AQCI_CASES])
def test_single_indices_vectors(case: dict[str, Any], aqci2018: AqciTable) -> None:
    indices = single_indices(_stats(case, aqci2018), aqci2018)
    for pol, expected in case["expected_single_indices"].items():
        assert abs(indices[pol] - Fraction(expected)) < Fraction(1, 10**6)


def test_default_rounding_is_per_index(aqci2018: AqciTable) -> None:
    assert aqci2018.rounding == "per_index"
    assert composite_index(AQCI_CASES[0]["statistics_inputs"], aqci2018).rounding == "per_index"


def test_heyuan_bulletin_needs_per_index_rounding(aqci2018: AqciTable) -> None:
    """Heyuan Feb 2022 (AQI.md §2.4): published 1.73 = Σ round_half_even(I_i, 2)."""
    stats = {"SO2": 3, "NO2": 13, "PM10": 16, "PM2.5": 13, "CO_P95": 0.9, "O3_8h_P90": 87}
    assert composite_index(stats, aqci2018).aqci == Decimal("1.73")
    assert composite_index(stats, aqci2018, rounding="exact").aqci == Decimal("1.74")
    assert composite_index(stats, aqci2018).aqci_unrounded == Fraction("1.74375")


def test_hulunbuir_example_matches_exact_sum(aqci2018: AqciTable) -> None:
    """Hulunbuir (AQI.md §2.4): published 3.06 = the unrounded sum, per-index gives 3.07."""
    stats = {"SO2": 9, "NO2": 15, "PM10": 39, "PM2.5": 21, "CO": 0.7, "O3": 192}
    assert composite_index(stats, aqci2018, rounding="exact").aqci == Decimal("3.06")
    assert composite_index(stats, aqci2018, rounding="rounded_statistics").aqci == Decimal("3.06")
    assert composite_index(stats, aqci2018, rounding="per_index").aqci == Decimal("3.07")


def test_rounded_statistics_variant_differs(aqci2018: AqciTable) -> None:
    # PM2.5 35.4 is 35 once rounded by GB/T 8170, which changes the 2-decimal sum
    stats = {"SO2": 60, "NO2": 40, "PM10": 70, "PM2.5": "35.4", "CO": 4, "O3": 160}
    assert composite_index(stats, aqci2018, rounding="exact").aqci == Decimal("6.01")
    assert composite_index(stats, aqci2018, rounding="rounded_statistics").aqci == Decimal("6.00")


def test_ties_in_max_index(aqci2018: AqciTable) -> None:
    stats = {"SO2": 6, "NO2": 40, "PM10": 7, "PM2.5": 35, "CO": 0.4, "O3": 16}
    result = composite_index(stats, aqci2018)
    assert result.max_index_pollutants == ("NO2", "PM2.5")


def test_missing_and_bad_statistics(aqci2018: AqciTable) -> None:
    stats: dict[str, Any] = {"SO2": 6, "NO2": 40, "PM10": 70, "PM2.5": 35, "CO": 4}
    with pytest.raises(ValueError, match="missing statistics for O3"):
        composite_index(stats, aqci2018)
    partial = composite_index(stats, aqci2018, allow_missing=True)
    assert partial.missing == ("O3",)
    assert partial.aqci == Decimal("4.10")
    with pytest.raises(ValueError, match="unknown statistic 'SO3'"):
        composite_index({**stats, "SO3": 1}, aqci2018)
    with pytest.raises(ValueError, match="negative"):
        composite_index({**stats, "O3": -1}, aqci2018)
    with pytest.raises(ValueError, match="given twice"):
        composite_index({**stats, "O3": 1, "O3_8h_P90": 2}, aqci2018)
    with pytest.raises(ValueError, match="rounding"):
        composite_index({**stats, "O3": 1}, aqci2018, rounding="up")  # type: ignore[arg-type]


def test_result_frozen_and_json(aqci2018: AqciTable) -> None:
    result = composite_index(AQCI_CASES[0]["statistics_inputs"], aqci2018)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.aqci = Decimal(0)  # type: ignore[misc]
    out = result.to_json()
    assert out["aqci"] == 6.0 and out["aqci_unrounded"] == 6.0
    assert out["max_index"] == ["SO2", "NO2", "PM10", "PM2.5", "CO", "O3"]
    assert out["indices"] == {p: 1.0 for p in ("SO2", "NO2", "PM10", "PM2.5", "CO", "O3")}


def test_period_stats_validity_monthly(aqci2018: AqciTable) -> None:
    feb: dict[str, list[Any]] = {
        "SO2": [10] * 25 + [None] * 3,
        "NO2_24h": [30] * 24 + [None] * 4,
        "CO": [1.0] * 28,
        "O3_8h_max": [100] * 28,
    }
    ps = period_stats(feb, table=aqci2018, year=2023, month=2)
    assert ps.period == "2023-02"
    assert ps.counts == {"SO2": 25, "NO2": 24, "CO": 28, "O3": 28}
    assert ps.valid == {"SO2": True, "NO2": False, "CO": True, "O3": True}
    assert ps.values["SO2"] == 10 and ps.values["CO"] == 1
    apr = period_stats({"SO2": [1] * 26 + [None] * 4}, table=aqci2018, year=2023, month=4)
    assert apr.valid == {"SO2": False}
    with pytest.raises(ValueError, match="29 daily values for 2023-02"):
        period_stats({"SO2": [1] * 29}, table=aqci2018, year=2023, month=2)


def test_period_stats_validity_annual(aqci2018: AqciTable) -> None:
    year = [20] * 365
    assert period_stats({"SO2": year}, table=aqci2018, year=2023).valid == {"SO2": True}
    # drop 5 days of December (Dec 27..31) -> 360 days, but December has 26
    dec_short: list[int | None] = [20] * 360 + [None] * 5
    assert period_stats({"SO2": dec_short}, table=aqci2018, year=2023).valid == {"SO2": False}
    # drop 2 days in each month -> 341 days, Feb 26, others >= 28 -> valid
    sparse: list[int | None] = []
    for m in range(1, 13):
        n = (date(2023 + m // 12, m % 12 + 1, 1) - date(2023, m, 1)).days
        sparse += [20] * (n - 2) + [None] * 2
    ps = period_stats({"SO2": sparse}, table=aqci2018, year=2023)
    assert ps.counts == {"SO2": 341} and ps.valid == {"SO2": True}
    assert period_stats({"SO2": [1, 2]}, table=aqci2018).valid == {"SO2": None}


def test_period_stats_mda8_argument_and_errors(aqci2018: AqciTable) -> None:
    ps = period_stats({"SO2": [1, 2, 3]}, [100, 120, 140], table=aqci2018)
    assert ps.values["O3"] == percentile([100, 120, 140], 90) == 136
    with pytest.raises(ValueError, match="MDA8 given twice"):
        period_stats({"O3_8h_max": [1]}, [1], table=aqci2018)
    with pytest.raises(ValueError, match="unknown daily series 'TSP'"):
        period_stats({"TSP": [1]}, table=aqci2018)
    with pytest.raises(ValueError, match="same"):
        period_stats({"SO2": [1], "SO2_24h": [1]}, table=aqci2018)
    assert period_stats({"SO2": [None, None]}, table=aqci2018).values == {"SO2": None}


def test_2026_weights_unverified(registry: StandardRegistry) -> None:
    t2026 = registry.aqci(date(2026, 3, 1))
    assert registry.aqci(date(2026, 2, 28)).id == "aqci-2018"
    assert t2026.id == "aqci-2026"
    weights = {e.pollutant: e.weight for e in t2026.entries}
    assert weights == {"SO2": 1, "NO2": 2, "PM10": 1, "PM2.5": 3, "CO": 1, "O3": 2}
    all_at_limit = {"SO2": 60, "NO2": 40, "PM10": 70, "PM2.5": 35, "CO": 4, "O3": 160}
    assert composite_index(all_at_limit, t2026).aqci == Decimal("10.00")
    pointers = {u.pointer for u in t2026.unverified()}
    for i in range(6):
        assert f"/indices/{i}/weight" in pointers
    assert not any(e.verified for e in t2026.entries)
