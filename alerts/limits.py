"""Built-in limits: what "超标" means before anybody configures anything.

* Ambient air (ST 22): the GB 3095 limits in force on the day (the versioned tables of
  :mod:`aggregates.standards`: GB 3095—2012 to 2026-02-28, the GB 3095—2026 transitional
  limits to 2030-12-31, its final limits from 2031-01-01) at the grade of the station's
  功能区类别 (grade I for a class-1 station, grade II otherwise), each on its own
  averaging period (:func:`ambient_mean_limits`, judged by :mod:`alerts.means`): the
  1-hour limits of SO2, NO2, CO and O3 on hourly means, the O3 8-hour limit on the 8-hour
  moving mean, the 24-hour limits of SO2, NO2, CO, PM10 and PM2.5 on daily means.  The
  source names the table, stage, grade and period ("GB 3095—2026 过渡阶段 一级 1小时平均").
  :func:`builtin_limits` gives one limit per factor (the shortest period), the reference
  of the flatline and jump rules and of the limits page.
* Hourly-AQI level (ST 22, hourly data): a value whose IAQI (HJ 633, hourly report
  column) is above the top of level L−1, i.e. the concentration breakpoint at IAQI
  ``[0, 50, 100, 150, 200, 300, 400, 500][L − 1]`` of the factor's hourly column.
* Pollution sources and water/noise stations, by station type (profile limits of
  :mod:`simulators.profiles`, citing the standards):

  - flue gas (ST 31): ultra-low emission limits (超低排放, 环发〔2015〕164号) on hourly
    means: dust 10, SO2 35, NOx 50 mg/m³;
  - wastewater (ST 32): GB 18918-2002 一级 A on daily means: COD 50, NH3-N 5, TP 0.5,
    TN 15 mg/L, pH 6–9;
  - surface water (ST 21, hourly means): GB 3838-2002 class III: CODMn 6, NH3-N 1.0,
    TP 0.2, TN 1.0 mg/L, pH 6–9, dissolved oxygen ≥ 5 mg/L;
  - noise (ST 23, hourly values): GB 3096-2008 class 2, daytime 60 dB(A).

Real-time values are compared with a limit only when a rule asks for it
(``alert_rule_config`` params ``{"basis": "rtd"}``: instantaneous limits of a source).

Users override any of these per station type, region or station (``alert_limits``).
Units are those stations report (µg/m³ for ambient air except CO in mg/m³).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final

from aggregates.standards import StandardRegistry, default_registry

__all__ = [
    "AIR_POLLUTANTS",
    "EMISSION_LIMITS",
    "LimitSpec",
    "ambient_mean_limits",
    "aqi_threshold",
    "builtin_limits",
]


@dataclass(frozen=True, slots=True)
class LimitSpec:
    upper: float | None
    lower: float | None = None
    source: str = ""
    #: the unit of the limit — what stations report, unlike the ng/m³ that HJ 212-2017
    #: table B.2 literally gives for particulates
    unit: str = ""
    #: the averaging period it is defined for: 1h, 8h, 24h (alerts.means) or rtd
    averaging: str = "1h"


#: Ambient-air factor codes (HJ 212-2017 B.1 + HJ 524 a05024) → HJ 633 pollutant.
AIR_POLLUTANTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "a21026": "SO2",
        "a21004": "NO2",
        "a21005": "CO",
        "a05024": "O3",
        "a34002": "PM10",
        "a34004": "PM2.5",
    }
)
#: GB 3095 averaging period of each pollutant's reference limit (the shortest one).
_AIR_AVERAGING: Final[Mapping[str, str]] = MappingProxyType(
    {"SO2": "1h", "NO2": "1h", "CO": "1h", "O3": "1h", "PM10": "24h", "PM2.5": "24h"}
)
#: The GB 3095 short-term periods judged on means (annual/quarterly ones are not alerts).
_MEAN_PERIODS: Final = ("1h", "8h", "24h")
_AVERAGING_ZH: Final[Mapping[str, str]] = MappingProxyType(
    {"1h": "1小时平均", "8h": "8小时平均", "24h": "24小时平均"}
)

_ULTRA_LOW = "超低排放限值（环发〔2015〕164号）"
_GB18918 = "GB 18918-2002 一级A"
_GB3838 = "GB 3838-2002 Ⅲ类"
_GB3096 = "GB 3096-2008 2类昼间"

EMISSION_LIMITS: Final[Mapping[str, Mapping[str, LimitSpec]]] = MappingProxyType(
    {
        "31": MappingProxyType(
            {
                "a34013": LimitSpec(10.0, None, _ULTRA_LOW, "mg/m³"),
                "a21026": LimitSpec(35.0, None, _ULTRA_LOW, "mg/m³"),
                "a21002": LimitSpec(50.0, None, _ULTRA_LOW, "mg/m³"),
            }
        ),
        "32": MappingProxyType(
            {
                "w01018": LimitSpec(50.0, None, _GB18918, "mg/L", "24h"),
                "w21003": LimitSpec(5.0, None, _GB18918, "mg/L", "24h"),
                "w21011": LimitSpec(0.5, None, _GB18918, "mg/L", "24h"),
                "w21001": LimitSpec(15.0, None, _GB18918, "mg/L", "24h"),
                "w01001": LimitSpec(9.0, 6.0, _GB18918, "", "24h"),
            }
        ),
        "21": MappingProxyType(
            {
                "w01019": LimitSpec(6.0, None, _GB3838, "mg/L"),
                "w21003": LimitSpec(1.0, None, _GB3838, "mg/L"),
                "w21011": LimitSpec(0.2, None, _GB3838, "mg/L"),
                "w21001": LimitSpec(1.0, None, _GB3838, "mg/L"),
                "w01001": LimitSpec(9.0, 6.0, _GB3838, ""),
                "w01009": LimitSpec(None, 5.0, _GB3838, "mg/L"),
            }
        ),
        "23": MappingProxyType({"LA": LimitSpec(60.0, None, _GB3096, "dB(A)")}),
    }
)


def builtin_limits(
    on: date, registry: StandardRegistry | None = None, grade: int = 2
) -> dict[str, dict[str, LimitSpec]]:
    """Station type → factor code → the built-in limit for data of day ``on``, ambient air
    at GB 3095 ``grade`` (1 for class-1 stations, 2 for class-2 ones)."""
    reg = registry or default_registry()
    out: dict[str, dict[str, LimitSpec]] = {st: dict(m) for st, m in EMISSION_LIMITS.items()}
    out["22"] = {
        code: specs[0]
        for code, specs in ambient_mean_limits(on, reg, grade).items()
        if specs and specs[0].averaging == _AIR_AVERAGING[AIR_POLLUTANTS[code]]
    }
    return out


def ambient_mean_limits(
    on: date, registry: StandardRegistry | None = None, grade: int = 2
) -> dict[str, tuple[LimitSpec, ...]]:
    """Ambient-air factor code → its GB 3095 short-term limits in force on ``on`` at
    ``grade``, the reference period (:data:`_AIR_AVERAGING`) first, then the others."""
    table = (registry or default_registry()).limits(on)
    out: dict[str, tuple[LimitSpec, ...]] = {}
    for code, pollutant in AIR_POLLUTANTS.items():
        first = _AIR_AVERAGING[pollutant]
        specs: list[LimitSpec] = []
        for averaging in (first, *(p for p in _MEAN_PERIODS if p != first)):
            try:
                row = table.row(pollutant, averaging)
            except KeyError:
                continue
            note = "" if row.verified else "（限值未经官方文本核实）"
            specs.append(
                LimitSpec(
                    float(table.limit(pollutant, averaging, grade)),
                    None,
                    f"{table.label(grade)} {_AVERAGING_ZH[averaging]}{note}",
                    "µg/m³" if row.unit == "ug/m3" else row.unit.replace("m3", "m³"),
                    averaging,
                )
            )
        out[code] = tuple(specs)
    return out


def aqi_threshold(
    factor_code: str, level: int, on: date, registry: StandardRegistry | None = None
) -> tuple[float, str] | None:
    """The concentration above which an hourly value of ``factor_code`` is at HJ 633 level
    ``level`` or worse, with a description; None when the factor has no hourly AQI column
    or the column does not reach that level (SO2 1h stops at 800 µg/m³)."""
    pollutant = AIR_POLLUTANTS.get(factor_code)
    if pollutant is None or not 2 <= level <= 6:
        return None
    table = (registry or default_registry()).aqi_table(on)
    try:
        column = table.column_for(f"{pollutant}_1h")
    except KeyError:
        return None
    index = level - 1
    if index >= len(column.breakpoints):
        return None
    name = next((lv.category for lv in table.levels if lv.level == level), str(level))
    return (
        float(column.breakpoints[index]),
        f"{table.code} 小时 AQI {level} 级（{name}）及以上",
    )
