"""Attainment (达标) of GB 3095 concentration limits: exceedance days (超标天数) and the
compliance rate (达标率) per pollutant, and the annual assessment.

Which limit.  The GB 3095 table in force for the data's date (``registry.limits(day)``:
GB 3095—2012 to 2026-02-28, the GB 3095—2026 transitional limits to 2030-12-31, the final
ones from 2031-01-01), at the grade of the area class (功能区类别): grade I for a class-1
station, grade II for a class-2 one.  A region or grid is judged by grade II unless *every*
station of the area is class 1 (an area that mixes classes is held to the limits of its
residential/urban part, which is what grade II protects; grade I would call a mixed
city "exceeding" because of one nature-reserve station).

Daily values (HJ 663 日评价).  A pollutant's day counts when its official daily value is
valid (24h mean with ≥ 20 hourly values; O3 daily maximum 8h average with ≥ 14 valid
windows), at GB/T 8170 reporting precision; the day exceeds when that value is greater
than the 24h (O3: 8h) limit.  This replaces the IAQI > 100 "exceedance pollutant" that
HJ 633—2026 removed (AQI-2026.md §1.1, §1.2): attainment is judged by GB 3095 and HJ 663,
not by the AQI (HJ 633—2026 §6.2).

Annual assessment (HJ 663 年评价).  SO2, NO2, PM10 and PM2.5: the annual mean against
the annual limit; CO: the 95th percentile of daily means against the 24h limit; O3: the
90th percentile of the daily maximum 8h averages against the 8h limit (AQI.md §2.1).
Each statistic is rounded by GB/T 8170 before comparing and must be valid (GB 3095
Table 4: ≥ 324 daily values, ≥ 27 per month, 25 in February).  A calendar year is judged
by the table in force on its **last day** (31 December): 2026 by the GB 3095—2026
transitional limits although its first two months were under GB 3095—2012, 2030 by the
transitional ones, 2031 by the final ones.  A year is assessed as a whole (its mean is
one number); the table at the year's end is the one a report for that year is published
under, and the result names it (``standard``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from aggregates.analysis import AQI_POLLUTANTS, pollutant_of_code, round_reported, to_aqi_units
from aggregates.standards import StandardRegistry, fraction_to_decimal

__all__ = [
    "ANNUAL_ITEMS",
    "DAILY_LIMITS",
    "AnnualAttainment",
    "DailyAttainment",
    "annual_attainment",
    "area_grade",
    "daily_attainment",
    "daily_exceedances",
]

#: HJ 633 daily indicator → (pollutant, GB 3095 averaging) compared with it.
DAILY_LIMITS: Final[Mapping[str, tuple[str, str]]] = {
    "SO2_24h": ("SO2", "24h"),
    "NO2_24h": ("NO2", "24h"),
    "CO_24h": ("CO", "24h"),
    "O3_8h_max": ("O3", "8h"),
    "PM10_24h": ("PM10", "24h"),
    "PM2.5_24h": ("PM2.5", "24h"),
}
#: pollutant → (GB 3095 averaging, statistic, Chinese name of the statistic).
ANNUAL_ITEMS: Final[Mapping[str, tuple[str, str, str]]] = {
    "SO2": ("annual", "mean", "年平均"),
    "NO2": ("annual", "mean", "年平均"),
    "PM10": ("annual", "mean", "年平均"),
    "PM2.5": ("annual", "mean", "年平均"),
    "CO": ("24h", "percentile", "日均值第95百分位数"),
    "O3": ("8h", "percentile", "日最大8小时平均第90百分位数"),
}


_LIMIT_DECIMALS: Final = 4  # enough for every GB 3095 limit (BaP 0.0025)


def area_grade(area_classes: Iterable[int]) -> int:
    """GB 3095 grade of a station or area: 1 when every station is class 1, else 2."""
    classes = list(area_classes)
    return 1 if classes and all(c == 1 for c in classes) else 2


def daily_exceedances(
    indicators: Mapping[str, Decimal | None], day: date, grade: int, registry: StandardRegistry
) -> tuple[dict[str, bool], str]:
    """Per pollutant with a valid daily value: whether it exceeds the limit in force on
    ``day`` at ``grade``; and the label of the table used ("GB 3095—2026 过渡阶段 二级")."""
    table = registry.limits(day)
    out: dict[str, bool] = {}
    for key, (pollutant, averaging) in DAILY_LIMITS.items():
        value = indicators.get(key)
        if value is not None:
            out[pollutant] = value > table.limit(pollutant, averaging, grade)
    return out, table.label(grade)


@dataclass(frozen=True, slots=True)
class DailyAttainment:
    """超标天数 and 达标率 per pollutant over a run of days."""

    valid_days: Mapping[str, int]  # days with a valid daily value
    exceedance_days: Mapping[str, int]  # 超标天数
    standards: tuple[str, ...]  # labels of the tables used, in date order

    @property
    def compliance_rate(self) -> dict[str, float | None]:
        """达标率: share of valid days not exceeding, per pollutant."""
        return {
            p: (n - self.exceedance_days.get(p, 0)) / n if n else None
            for p, n in self.valid_days.items()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "valid_days": dict(self.valid_days),
            "exceedance_days": dict(self.exceedance_days),
            "compliance_rate": self.compliance_rate,
            "standards": list(self.standards),
        }


def daily_attainment(
    days: Iterable[tuple[date, Mapping[str, Decimal | None]]],
    grade: int,
    registry: StandardRegistry,
) -> DailyAttainment:
    """Count valid and exceeding days per pollutant over ``(day, indicators)`` pairs."""
    valid: dict[str, int] = dict.fromkeys(AQI_POLLUTANTS, 0)
    over: dict[str, int] = dict.fromkeys(AQI_POLLUTANTS, 0)
    labels: list[str] = []
    for day, indicators in sorted(days, key=lambda d: d[0]):
        flags, label = daily_exceedances(indicators, day, grade, registry)
        if flags and label not in labels:
            labels.append(label)
        for pollutant, exceeds in flags.items():
            valid[pollutant] += 1
            over[pollutant] += exceeds
    return DailyAttainment(
        {p: n for p, n in valid.items() if n},
        {p: n for p, n in over.items() if valid[p]},
        tuple(labels),
    )


@dataclass(frozen=True, slots=True)
class AnnualAttainment:
    """The annual assessment of one pollutant (see the module docstring)."""

    pollutant: str
    statistic: str  # 年平均 / 日均值第95百分位数 / 日最大8小时平均第90百分位数
    value: Decimal | None  # at GB/T 8170 reporting precision, in AQI units
    limit: Decimal
    unit: str
    valid: bool  # the statistic meets GB 3095 Table 4
    attains: bool | None  # None when the statistic is missing or not valid
    standard: str  # "GB 3095—2026 过渡阶段 二级 年平均"

    def to_json(self) -> dict[str, Any]:
        return {
            "pollutant": self.pollutant,
            "statistic": self.statistic,
            "value": None if self.value is None else float(self.value),
            "limit": float(self.limit),
            "unit": self.unit,
            "valid": self.valid,
            "attains": self.attains,
            "standard": self.standard,
        }


def annual_attainment(
    stats: Sequence[Any],
    year: int,
    grade: int,
    registry: StandardRegistry,
    unit_factors: Mapping[str, float],
) -> list[AnnualAttainment]:
    """The annual assessment of the six basic pollutants from whole-year period statistics
    (:class:`aggregates.official.PeriodValue`: ``factor``, ``mean``, ``percentile``,
    ``valid``), judged by the table in force on 31 December of ``year`` at ``grade``."""
    table = registry.limits(date(year, 12, 31))
    out: list[AnnualAttainment] = []
    by_pollutant = {pollutant_of_code(s.factor): s for s in stats}
    for pollutant, (averaging, statistic, name) in ANNUAL_ITEMS.items():
        s = by_pollutant.get(pollutant)
        row = table.row(pollutant, averaging)
        limit = fraction_to_decimal(table.limit(pollutant, averaging, grade), _LIMIT_DECIMALS)
        raw = None if s is None else (s.mean if statistic == "mean" else s.percentile)
        value = (
            None
            if raw is None or s is None
            else round_reported(pollutant, to_aqi_units(raw, s.factor, unit_factors))
        )
        valid = bool(s is not None and s.valid and value is not None)
        out.append(
            AnnualAttainment(
                pollutant,
                name,
                value,
                limit,
                "mg/m³" if row.unit == "mg/m3" else "µg/m³",
                valid,
                (value <= limit) if valid and value is not None else None,
                f"{table.label(grade)} {row.description or averaging}",
            )
        )
    return out
