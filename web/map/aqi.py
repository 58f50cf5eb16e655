"""The "current AQI" of a station (map colours, popup, station page) — ONE function,
:func:`current_aqi`.

The rule (HJ 633 实时报, hourly report; the edition in force on the local day: HJ 633—2012
up to 2026-02-28, HJ 633—2026 from 2026-03-01):

1. **the last complete hour**: the station's official hourly values (``hourly_values``:
   the station-reported 2061 hour preferred, computed hours fill the gaps) of the hour
   before the current one, valid ones only, SO2/NO2/CO/O3 on their 1h columns and
   PM10/PM2.5 on the 24h column (the CNEMC hourly convention,
   ``aggregates.aqi.hourly_aqi``) — when at least one of them gives an IAQI;
2. otherwise **the latest real-time values** (``station_state.latest``) treated as
   1-hour concentrations, when they are fresh (the station is online: data within
   ``web.online_window_s``); only values whose flag counts as valid
   (``protocol.flags.is_valid``: N, S, 2005 air 3/1, unknown flags) take part;
3. otherwise no AQI (grey, "无数据").

HJ 633—2026 §5.3.1: with one of the six pollutants missing (not measured, invalid), the AQI
of the others is shown only when it is above 100; otherwise it is NA (grey) with the
IAQIs and ``missing`` naming what is absent.  Pollutants outside the station's monitoring
plan (§5.3.2, the station's 应测因子, :func:`aggregates.analysis.outside_plan`) do not
count as missing.

A disabled station has no AQI.  ``basis`` of the result says which input was used
(``"hour"`` or ``"latest"``).  Values are multiplied by ``aggregates.unit_factors``
(stored units → AQI units, as the aggregates do); by default the platform's ambient-air
units are µg/m³ and CO mg/m³ — what ambient-air data loggers and the simulators send.

Speed: 36,000 stations per map request (``web.map.service`` calls this function only
for stations whose inputs changed).  The arithmetic is the exact one of
``aggregates.aqi`` (fractions, ceil), applied to GB/T 8170-rounded concentrations;
because rounded concentrations take few distinct values, each (indicator, rounded
value) IAQI is computed once and memoised.  Rounding a float: integers by ``round()``
(half-even on the binary value equals half-even on its shortest decimal repr for
integer places); CO's 0.1 mg/m³ falls back to ``Decimal(repr(v))`` near a tie.  A test
compares this with ``aggregates.aqi.hourly_aqi`` on random inputs.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any, Final

from aggregates.analysis import AQI_FACTORS
from aggregates.aqi import aqi_level, iaqi
from aggregates.standards import AqiTable, default_registry
from protocol.flags import is_valid

__all__ = [
    "AIR_FACTORS",
    "CurrentAqi",
    "StationAqi",
    "current_aqi",
    "evaluator",
]

#: HJ 212 factor code → hourly-report indicator of HJ 633 (ambient air, platform units).
AIR_FACTORS: Final[Mapping[str, str]] = {
    code: f"{pollutant}_1h" for pollutant, code in AQI_FACTORS.items()
}
_POLLUTANT: Final = {ind: ind.split("_", 1)[0] for ind in AIR_FACTORS.values()}


@dataclass(frozen=True, slots=True)
class StationAqi:
    aqi: int | None
    level: int | None
    category: str | None
    color: str
    primary: tuple[str, ...]
    iaqi: Mapping[str, int | None]
    #: "hour" (the last complete hour), "latest" (real-time values) or None (no AQI)
    basis: str | None = None
    #: pollutants missing from a partial report whose AQI is NA (HJ 633—2026 §5.3.1)
    missing: tuple[str, ...] = ()
    #: the code of the HJ 633 edition used ("HJ 633—2026")
    standard: str = ""

    def to_json(self) -> dict[str, Any]:
        as_is = {f.name: getattr(self, f.name) for f in fields(self)}
        return {
            **as_is,
            "primary": list(self.primary),
            "iaqi": dict(self.iaqi),
            "missing": list(self.missing),
        }

    def based_on(self, basis: str) -> StationAqi:
        if self.aqi is None:
            return self
        return replace(self, basis=basis)


class CurrentAqi:
    """Memoising evaluator of the hourly AQI for one HJ 633 table."""

    def __init__(self, table: AqiTable) -> None:
        self.table = table
        self._decimals = {p: table.reporting_decimals.get(p, 0) for p in _POLLUTANT.values()}
        self._iaqi: dict[tuple[str, int], int | None] = {}
        self._no_data = StationAqi(None, None, None, table.no_data.hex, (), {}, standard=table.code)
        self.legend = [
            {
                "level": lv.level,
                "level_cn": lv.level_cn,
                "category": lv.category,
                "aqi_min": lv.aqi_min,
                "aqi_max": lv.aqi_max,
                "color": lv.hex,
            }
            for lv in table.levels
        ]

    @property
    def no_data(self) -> StationAqi:
        return self._no_data

    def _rounded_units(self, value: float, decimals: int) -> int:
        """``value`` rounded half-even to ``decimals`` places, in units of 10**-decimals."""
        scaled = value * 10**decimals
        if decimals and abs(scaled - math.floor(scaled) - 0.5) < 1e-6:
            exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN)
            return int(exact.scaleb(decimals))
        return round(scaled) if decimals else round(value)

    def indicator_iaqi(self, indicator: str, value: float) -> int | None:
        decimals = self._decimals[_POLLUTANT[indicator]]
        units = self._rounded_units(value, decimals)
        key = (indicator, units)
        if key not in self._iaqi:
            self._iaqi[key] = iaqi(indicator, Fraction(units, 10**decimals), self.table)
        return self._iaqi[key]

    def of_values(
        self, values: Mapping[str, float], not_monitored: Collection[str] = ()
    ) -> StationAqi:
        """AQI from indicator → concentration (already filtered for valid flags);
        ``not_monitored``: pollutants outside the monitoring plan (HJ 633—2026 §5.3.2)."""
        by_pollutant: dict[str, int | None] = {}
        for indicator, value in values.items():
            if value < 0 or not math.isfinite(value):
                continue
            by_pollutant[_POLLUTANT[indicator]] = self.indicator_iaqi(indicator, value)
        computed = [v for v in by_pollutant.values() if v is not None]
        if not computed:
            return self._no_data
        aqi = max(computed)
        floor = self.table.missing_publish_above
        if floor is not None and aqi <= floor:
            missing = tuple(
                p
                for p in self.table.pollutant_order
                if p not in by_pollutant and p not in not_monitored
            )
            if missing:
                return replace(self._no_data, iaqi=by_pollutant, missing=missing)
        level = aqi_level(aqi, self.table)
        assert level is not None
        primary: tuple[str, ...] = ()
        if aqi > self.table.primary_above:
            primary = tuple(p for p in self.table.pollutant_order if by_pollutant.get(p) == aqi)
        return StationAqi(
            aqi,
            level.level,
            level.category,
            level.hex,
            primary,
            by_pollutant,
            standard=self.table.code,
        )

    def indicators_of_latest(
        self, latest: Mapping[str, Any] | None, unit_factors: Mapping[str, float]
    ) -> dict[str, float]:
        """Indicator → concentration from ``station_state.latest``
        ({"a21026": {"v": 8.0, "f": "N"}, …}), valid flags only."""
        values: dict[str, float] = {}
        if not latest:
            return values
        for code, indicator in AIR_FACTORS.items():
            entry = latest.get(code)
            if not isinstance(entry, Mapping):
                continue
            value = entry.get("v")
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and is_valid(entry.get("f") or "N")
            ):
                values[indicator] = float(value) * unit_factors.get(code, 1.0)
        return values

    def of_latest(
        self,
        latest: Mapping[str, Any] | None,
        unit_factors: Mapping[str, float] | None = None,
        not_monitored: Collection[str] = (),
    ) -> StationAqi:
        """AQI of the latest real-time values (no freshness check: see current_aqi)."""
        return self.of_values(self.indicators_of_latest(latest, unit_factors or {}), not_monitored)

    def of_hourly(
        self,
        hourly: Mapping[str, float] | None,
        unit_factors: Mapping[str, float] | None = None,
        not_monitored: Collection[str] = (),
    ) -> StationAqi:
        """AQI of valid official hourly values (factor code → value)."""
        if not hourly:
            return self._no_data
        factors = unit_factors or {}
        return self.of_values(
            {
                AIR_FACTORS[code]: float(v) * factors.get(code, 1.0)
                for code, v in hourly.items()
                if code in AIR_FACTORS
            },
            not_monitored,
        )


_EVALUATORS: dict[str, CurrentAqi] = {}
_BY_DAY: dict[date, CurrentAqi] = {}


def evaluator(on: date, registry: Any = None) -> CurrentAqi:
    """The evaluator for the HJ 633 table in force on ``on`` (memoised per table)."""
    if registry is None and (hit := _BY_DAY.get(on)) is not None:
        return hit
    table = (registry or default_registry()).aqi_table(on)
    found = _EVALUATORS.get(table.id)
    if found is None or found.table is not table:
        found = _EVALUATORS[table.id] = CurrentAqi(table)
    if registry is None:
        if len(_BY_DAY) > 64:
            _BY_DAY.clear()
        _BY_DAY[on] = found
    return found


def current_aqi(
    hourly: Mapping[str, float] | None,
    latest: Mapping[str, Any] | None,
    on: date,
    *,
    fresh: bool = True,
    unit_factors: Mapping[str, float] | None = None,
    not_monitored: Collection[str] = (),
) -> StationAqi:
    """THE rule (module docstring): the hourly AQI of the last complete hour from
    ``hourly`` (factor code → valid official hourly value), else — when ``fresh`` — the
    AQI of the latest real-time values ``latest`` (``station_state.latest``), else no
    AQI.  ``on``: the local day (which HJ 633 table applies).  When ``hourly`` gives an
    AQI the result does not depend on ``latest`` or ``fresh`` (the map memoises on that).
    """
    ev = evaluator(on)
    partial = ev.no_data
    if hourly:
        result = ev.of_hourly(hourly, unit_factors, not_monitored)
        if result.aqi is not None:
            return result.based_on("hour")
        partial = result  # NA (§5.3.1) unless the real-time values give an AQI
    if fresh and latest:
        current = ev.of_latest(latest, unit_factors, not_monitored)
        if current.aqi is not None or not partial.missing:
            return current.based_on("latest")
    return partial
