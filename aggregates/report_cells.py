"""The cells, columns and charts the report builders share: factor columns, values at
reporting precision, AQI cells, level colours, the primary-pollutant pie, period statistics."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from aggregates import queries
from aggregates.analysis import aqci_of_series, pollutant_of_code, round_reported, to_aqi_units
from aggregates.aqi import AqiResult
from aggregates.aqi_series import AreaAqi
from aggregates.official import PeriodValue
from aggregates.report_model import Cell, Chart, Column
from aggregates.selection import Db, factor_ids, registry_for
from aggregates.settings import AggregatesConfig

__all__ = [
    "AQI_COLUMNS",
    "POLLUTANT_NAMES",
    "aqi_cells",
    "factor_columns",
    "factor_info",
    "good_days",
    "good_rate",
    "level_colors",
    "period_aqci",
    "pie",
    "shown",
    "stat_cell",
]

#: Display names: plain ASCII (subscript digits are missing from common CJK fonts).
POLLUTANT_NAMES = {
    "SO2": "SO2",
    "NO2": "NO2",
    "CO": "CO",
    "O3": "O3",
    "PM10": "PM10",
    "PM2.5": "PM2.5",
}


def factor_columns(
    codes: Sequence[str], info: Mapping[str, Mapping[str, Any]], *, suffix: str = ""
) -> list[Column]:
    cols = []
    for code in codes:
        pol = pollutant_of_code(code)
        name = POLLUTANT_NAMES.get(pol, pol) if pol else info.get(code, {}).get("name_zh") or code
        unit = ("mg/m³" if pol == "CO" else "µg/m³") if pol else info.get(code, {}).get("unit", "")
        decimals = (1 if pol == "CO" else 0) if pol else 2
        cols.append(Column(code, f"{name}{suffix}", unit, decimals, 9))
    return cols


def shown(code: str, value: float | None, settings: AggregatesConfig) -> Decimal | None:
    """A value at its reporting precision in AQI units (other factors: 3 decimals)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    dec = to_aqi_units(value, code, settings.aggregates.unit_factors)
    pol = pollutant_of_code(code)
    return round_reported(pol, dec) if pol else dec.quantize(Decimal("0.001"))


async def factor_info(db: Db, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    ids = await factor_ids(db, codes)
    rows = await db.fetch(queries.FACTORS_BY_ID_SQL, list(ids.values()))
    return {r["code"]: dict(r) for r in rows}


def aqi_cells(result: AqiResult | None) -> list[Cell]:
    """AQI, category and primary pollutants (the cells under :data:`AQI_COLUMNS`); an AQI
    withheld for missing data (HJ 633—2026 §5.3.1) is "NA", without category or primary."""
    if result is not None and result.aqi is None and result.missing_indicators:
        return ["NA", None, None]
    if result is None or result.aqi is None:
        return [None, None, None]
    names = "、".join(POLLUTANT_NAMES.get(p, p) for p in result.primary)
    return [result.aqi, result.category, names or "—"]


def good_days(days: Iterable[AreaAqi]) -> tuple[int, int]:
    """(days with AQI ≤ 100, days with a valid AQI) among ``days``."""
    aqis = [a.result.aqi for a in days if a.result.aqi is not None]
    return sum(1 for aqi in aqis if aqi <= 100), len(aqis)


def good_rate(good: int, n_valid: int) -> str | None:
    """优良率 as shown: a percentage with one decimal, None without valid days."""
    return f"{good / n_valid:.1%}" if n_valid else None


AQI_COLUMNS = [
    Column("aqi", "AQI", "", None, 6),
    Column("category", "空气质量类别", "", None, 12),
    Column("primary", "首要污染物", "", None, 12),
]


def level_colors(aqis: Sequence[int | None]) -> list[str]:
    palette = [(50, "#00E400"), (100, "#FFFF00"), (150, "#FF7E00"), (200, "#FF0000")]
    out = []
    for a in aqis:
        if a is None:
            out.append("#BFBFBF")
            continue
        out.append(
            next((c for top, c in palette if a <= top), "#99004C" if a <= 300 else "#7E0023")
        )
    return out


def pie(primary: Sequence[str]) -> Chart:
    counts: dict[str, int] = defaultdict(int)
    for p in primary:
        if p and p != "—":
            counts[p] += 1
    cats = sorted(counts, key=lambda p: -counts[p])
    return Chart("pie", "首要污染物占比", cats, {"天数": [float(counts[c]) for c in cats]})


def period_aqci(days: Sequence[AreaAqi], settings: AggregatesConfig, on: date) -> Decimal | None:
    """Composite index from the (rounded) daily indicators of the days given."""
    daily: dict[str, list[float]] = defaultdict(list)
    mda8: list[float] = []
    for a in days:
        for key, value in a.indicators.items():
            if value is None:
                continue
            if key == "O3_8h_max":
                mda8.append(float(value))
            elif key.endswith("_24h"):
                daily[key[: -len("_24h")]].append(float(value))
    res = aqci_of_series(daily, mda8, registry_for(settings).aqci(on))
    return res.aqci if res is not None else None


def stat_cell(code: str, s: PeriodValue | None, settings: AggregatesConfig) -> Cell:
    """Period statistic shown for a factor: CO P95, O3 P90 of MDA8 (HJ 663), else mean."""
    if s is None or not s.valid:
        return None
    pol = pollutant_of_code(code)
    if pol in ("CO", "O3"):
        return shown(code, s.percentile, settings)
    return shown(code, s.mean, settings)
