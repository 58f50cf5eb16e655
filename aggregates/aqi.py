"""Air quality index per HJ 633 (环境空气质量指数技术规定), exact arithmetic.

Pure functions over an :class:`~aggregates.standards.AqiTable` (the breakpoints, report
definitions, levels and publication rules are data, chosen by the date of the data through
:meth:`~aggregates.standards.StandardRegistry.aqi_table`: HJ 633—2012 up to 2026-02-28,
HJ 633—2026 from 2026-03-01).  References: ``/work/shared/standards/AQI.md`` (2012) and
``AQI-2026.md`` (2026), transcribed from the official texts.

* IAQI: formula (1) evaluated exactly with :class:`Fraction`, then rounded **up**
  (向上进位取整).  A float implementation gets CO 24h 2.2 mg/m3 wrong (56 instead of 55).
* Above the last breakpoint: full columns cap at IAQI 500; the truncated columns follow the
  table — HJ 633—2012 does not compute SO2 1h > 800 and O3 8h > 800 (``None``, the 24h /
  1h value stands in), HJ 633—2026 counts them as 200 and 300 (Table 3 notes b, c).
* AQI = max of the pollutant IAQIs (formula (2)); 首要污染物 only when AQI > 50, ties all
  listed; 超标污染物 (IAQI > 100) only where the table has the concept (2012; removed 2026).
* Reports: the 实时报 (hourly) and 日报 (daily) indicators are the table's; inputs that the
  edition does not count (HJ 633—2026: O3 daily maximum 1h, the moving averages) are
  accepted and ignored.
* Missing data (HJ 633—2026 §5.3): with an indicator missing, the AQI of the others is
  published only when it is above 100; otherwise the AQI and everything derived from it is
  NA (``published`` False) and only the IAQIs are given.  Pollutants outside the station's
  monitoring plan (§5.3.2) are passed as ``not_monitored`` and do not count as missing.
* Reported concentrations are rounded by GB/T 8170 half-even (integers in ug/m3, CO to
  0.1 mg/m3) before indexing (``round_inputs``).

Canonical keys are those of the vectors files: indicator keys such as ``SO2_1h``,
``PM2.5_24h``, ``O3_8h_max`` for inputs and ``SO2`` … ``PM2.5`` for pollutants.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from aggregates.standards import (
    AqiTable,
    IaqiColumn,
    Level,
    Number,
    fraction_to_decimal,
    to_fraction,
)

__all__ = [
    "REPORTING_DECIMALS",
    "AqiResult",
    "ReportKind",
    "aqi_level",
    "compute_aqi",
    "daily_aqi",
    "hourly_aqi",
    "iaqi",
    "iaqi_exact",
    "pollutant_of",
    "round_concentration",
]

ReportKind = Literal["hourly", "daily"]

#: GB/T 8170 reporting precision (decimal places): integer ug/m3, CO 0.1 mg/m3 (AQI.md §1.6).
REPORTING_DECIMALS: Mapping[str, int] = MappingProxyType(
    {"SO2": 0, "NO2": 0, "PM10": 0, "CO": 1, "O3": 0, "PM2.5": 0}
)


def pollutant_of(key: str) -> str:
    """``"PM2.5_24h"`` → ``"PM2.5"``; a bare pollutant name is returned unchanged."""
    return key.split("_", 1)[0]


def round_concentration(pollutant: str, value: Number, decimals: int | None = None) -> Decimal:
    """Round a concentration to its reporting precision by GB/T 8170 (round half to even,
    "四舍六入五成双"): integer ug/m3 for SO2, NO2, O3, PM10, PM2.5; 0.1 mg/m3 for CO
    (AQI.md §1.6).  ``pollutant`` may be a pollutant (``"CO"``) or a column/indicator key
    (``"CO_24h"``); ``decimals`` overrides the precision.  Returns an exact ``Decimal``
    with that many places (``Decimal('2.2')``, ``Decimal('36')``).
    """
    if decimals is None:
        pol = pollutant_of(pollutant)
        if pol not in REPORTING_DECIMALS:
            raise KeyError(f"no reporting precision for {pollutant!r}")
        decimals = REPORTING_DECIMALS[pol]
    return fraction_to_decimal(to_fraction(value, pollutant), decimals)


def _nonnegative(key: str, value: Number) -> Fraction:
    c = to_fraction(value, key)
    if c < 0:
        raise ValueError(f"{key}: negative concentration {value!r}")
    return c


def iaqi_exact(column: IaqiColumn, concentration: Fraction) -> Fraction | None:
    """Formula (1) of HJ 633 without rounding (AQI.md §1.2, AQI-2026.md §1.6).

    ``IAQI = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C − BP_Lo) + IAQI_Lo`` on the
    continuous segment containing ``C`` (a breakpoint value gives its own IAQI).  Above the
    last breakpoint the column's ``above_top`` rule applies: ``cap`` → the top IAQI (500),
    ``not_computed`` → ``None`` (2012: SO2 1h, O3 8h), ``fixed`` → constant (2026: 200, 300).
    """
    if concentration < 0:
        raise ValueError(f"{column.key}: negative concentration {concentration}")
    bps, levels = column.breakpoints, column.iaqi_levels
    if concentration > bps[-1]:
        rule = column.above_top
        if rule.rule == "cap":
            return Fraction(levels[-1])
        if rule.rule == "fixed" and rule.iaqi is not None:
            return Fraction(rule.iaqi)
        return None
    for i in range(1, len(bps)):
        if concentration <= bps[i]:
            lo, hi = bps[i - 1], bps[i]
            return (
                Fraction(levels[i] - levels[i - 1]) / (hi - lo) * (concentration - lo)
                + levels[i - 1]
            )
    raise AssertionError("unreachable: concentration within the breakpoints")  # pragma: no cover


#: Memo of :func:`_iaqi_ceil`: id(column) → (column, {(numerator, denominator): IAQI}).
#: A pure cache (results depend only on the immutable column and the concentration);
#: keyed by identity and integer pairs because hashing the Fraction breakpoints of a
#: column dominated batch AQI (tens of thousands of stations).  Bounded.
_IAQI_MEMO: dict[int, tuple[IaqiColumn, dict[tuple[int, int], int | None]]] = {}
_IAQI_MEMO_COLUMNS = 64
_IAQI_MEMO_VALUES = 1 << 16


def _iaqi_ceil(column: IaqiColumn, concentration: Fraction) -> int | None:
    """ceil(formula (1)), memoised: after GB/T 8170 rounding the concentrations of a
    whole network repeat a lot (integers, CO tenths), so batch AQI mostly hits the memo."""
    entry = _IAQI_MEMO.get(id(column))
    if entry is None or entry[0] is not column:
        if len(_IAQI_MEMO) >= _IAQI_MEMO_COLUMNS:
            _IAQI_MEMO.clear()
        entry = _IAQI_MEMO[id(column)] = (column, {})
    memo = entry[1]
    key = (concentration.numerator, concentration.denominator)
    if key in memo:
        return memo[key]
    exact = iaqi_exact(column, concentration)
    value = None if exact is None else math.ceil(exact)
    if len(memo) < _IAQI_MEMO_VALUES:
        memo[key] = value
    return value


def iaqi(pollutant_column: str, concentration: Number, table: AqiTable) -> int | None:
    """IAQI of one concentration: ceil of formula (1) (进位取整, AQI.md §1.2/§1.6).

    ``pollutant_column`` is a column key (``"SO2_24h"``, ``"O3_8h"``) or a report indicator
    (``"PM2.5_1h"`` is indexed on the 24h column, ``"O3_8h_max"`` on the 8h one).  The value
    is used as given (no GB/T 8170 pre-rounding; the report functions do that).  Returns
    ``None`` when the column does not compute it (SO2 1h > 800, O3 8h > 800).
    """
    column = table.column_for(pollutant_column)
    exact = iaqi_exact(column, _nonnegative(pollutant_column, concentration))
    return None if exact is None else math.ceil(exact)


def aqi_level(aqi: int | None, table: AqiTable) -> Level | None:
    """The level of an AQI (HJ 633—2012 Table 2 / HJ 633—2026 Table 1): 一级 优 … > 300
    六级 严重污染.  ``None`` (no data, NA) gives ``None``; the caller shows
    ``table.no_data`` (grey).  HJ 633—2026 starts the scale at 1: an AQI of 0 (every rounded
    concentration 0, which the text does not cover) is shown as level 1.
    """
    if aqi is None:
        return None
    if isinstance(aqi, bool) or not isinstance(aqi, int):
        raise TypeError(f"AQI must be an integer, not {aqi!r}")
    if aqi < 0:
        raise ValueError(f"negative AQI {aqi}")
    if aqi < table.levels[0].aqi_min:
        return table.levels[0]
    for level in table.levels:
        if aqi >= level.aqi_min and (level.aqi_max is None or aqi <= level.aqi_max):
            return level
    raise ValueError(f"AQI {aqi} is above the last level of {table.code}")


@dataclass(frozen=True, slots=True)
class AqiResult:
    """One AQI report (HJ 633 §4–§5).

    ``iaqi`` maps pollutant → IAQI for the pollutants that took part (``None``: supplied but
    not computed and no substitute); ``indicator_iaqi`` maps every supplied indicator to its
    own IAQI (also those that did not enter max(), e.g. SO2 24h in the 2012 hourly report);
    ``ignored`` lists inputs the edition does not count.  ``missing_indicators``: indicators
    of the report that were not supplied (outside the monitoring plan excluded).
    ``published`` is False when the AQI is NA (no value, or HJ 633—2026 §5.3.1: something
    missing and the rest ≤ 100): then ``aqi``, the level fields, ``color`` and ``primary``
    are ``None``/empty and only the IAQIs stand.  ``exceedance`` (超标污染物) is ``None`` for
    tables without the concept (HJ 633—2026).  ``sensitive_groups``: pollutant → who should
    take the advised measures (HJ 633—2026 Table 2) for each IAQI above 100.
    ``standard`` is the code of the table used (``"HJ 633—2026"``).
    """

    aqi: int | None
    published: bool
    level: int | None
    level_cn: str | None
    category: str | None
    color: str | None
    color_name: str | None
    health_effect: str | None
    advice: str | None
    primary: tuple[str, ...]
    primary_indicators: tuple[str, ...]
    exceedance: tuple[str, ...] | None
    iaqi: Mapping[str, int | None]
    indicator_iaqi: Mapping[str, int | None]
    missing_indicators: tuple[str, ...]
    ignored: tuple[str, ...]
    sensitive_groups: Mapping[str, str]
    standard: str
    report: ReportKind

    def display_color(self, table: AqiTable) -> str:
        """The level colour, or the table's no-data grey when the AQI is NA."""
        return self.color if self.color is not None else table.no_data.hex

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the ``envgrid aqi`` output): every field, tuples as lists and
        mappings as dicts."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _indicator_error(key: str, report: str, known: Collection[str]) -> ValueError:
    pollutants = {k.split("_", 1)[0] for k in known}
    if key in pollutants:
        same = ", ".join(k for k in known if k.split("_", 1)[0] == key)
        return ValueError(
            f"{key}: the averaging period is missing (a {report} input is one of: {same})"
        )
    return ValueError(f"unknown {report} indicator {key!r} (expected one of: {', '.join(known)})")


def compute_aqi(
    report: ReportKind,
    concentrations: Mapping[str, Number | None],
    table: AqiTable,
    *,
    include_moving_averages: bool = False,
    round_inputs: bool = True,
    not_monitored: Collection[str] = (),
) -> AqiResult:
    """AQI of one report period from indicator concentrations (HJ 633 §4–§5).

    Keys must be inputs of the table's ``report`` section (``ValueError`` naming the key
    otherwise; a bare pollutant such as ``"PM2.5"`` is told its averaging period is missing);
    ``None`` values and absent keys do not participate and count as missing; negative or
    non-numeric values raise ``ValueError``.  With ``round_inputs`` (default) each value is
    first rounded to its GB/T 8170 reporting precision.  ``include_moving_averages``
    (hourly, HJ 633—2012 only) lets the O3 8h and PM 24h moving averages enter max() — the
    alternative reading of the nine 2012 real-time indicators (AQI.md §1.5).
    ``not_monitored``: pollutants outside the monitoring plan (HJ 633—2026 §5.3.2; the
    caller vouches for the three-year condition): they are not counted as missing.
    """
    if report not in table.reports:
        raise ValueError(f"unknown report {report!r} (expected hourly or daily)")
    spec = table.reports[report]
    values: dict[str, Fraction] = {}
    ignored: list[str] = []
    for key, raw in concentrations.items():
        if key not in spec.indicators:
            raise _indicator_error(key, report, list(spec.indicators))
        if raw is None:
            continue
        c = _nonnegative(key, raw)
        if spec.indicators[key].role == "ignored":
            ignored.append(key)
            continue
        if round_inputs:
            pol = spec.indicators[key].pollutant
            c = Fraction(round_concentration(pol, c, table.reporting_decimals[pol]))
        values[key] = c

    order = [k for k in spec.indicators if k in values]
    indicator_iaqi: dict[str, int | None] = {}
    for key in order:
        indicator_iaqi[key] = _iaqi_ceil(table.columns[spec.indicators[key].column], values[key])

    participating = [
        k
        for k in order
        if spec.indicators[k].role == "standard"
        or (spec.indicators[k].role == "moving_average" and include_moving_averages)
    ]
    # HJ 633—2012 Table 1 notes 2 and 3: an indicator whose IAQI is not computed is replaced
    # by its substitute (SO2 1h > 800 → SO2 24h; O3 8h > 800 → O3 1h).
    i = 0
    while i < len(participating):
        ind = spec.indicators[participating[i]]
        sub = ind.substitute
        if (
            indicator_iaqi[ind.key] is None
            and sub is not None
            and sub in values
            and sub not in participating
        ):
            participating.append(sub)
        i += 1

    by_pollutant: dict[str, int | None] = {}
    for key in participating:
        pol = spec.indicators[key].pollutant
        value = indicator_iaqi[key]
        if pol not in by_pollutant:
            by_pollutant[pol] = value
        else:
            prev = by_pollutant[pol]
            if value is not None and (prev is None or value > prev):
                by_pollutant[pol] = value
    pol_rank = {p: n for n, p in enumerate(table.pollutant_order)}
    pollutants = sorted(by_pollutant, key=lambda p: pol_rank.get(p, len(pol_rank)))
    iaqi_map = {p: by_pollutant[p] for p in pollutants}

    missing = tuple(
        k
        for k, ind in spec.indicators.items()
        if ind.role == "standard" and k not in values and ind.pollutant not in not_monitored
    )
    computed = [v for v in iaqi_map.values() if v is not None]
    aqi = max(computed) if computed else None
    floor = table.missing_publish_above
    if aqi is not None and missing and floor is not None and aqi <= floor:
        aqi = None  # HJ 633—2026 §5.3.1: NA
    primary: tuple[str, ...] = ()
    primary_indicators: tuple[str, ...] = ()
    if aqi is not None and aqi > table.primary_above:
        primary = tuple(p for p in pollutants if iaqi_map[p] == aqi)
        primary_indicators = tuple(
            k for k in order if k in participating and indicator_iaqi[k] == aqi
        )
    exceedance: tuple[str, ...] | None = None
    limit = table.exceedance_above
    if limit is not None:
        exceedance = tuple(p for p in pollutants if (v := iaqi_map[p]) is not None and v > limit)
    sensitive = {
        p: table.sensitive_groups[p]
        for p in pollutants
        if p in table.sensitive_groups
        and (v := iaqi_map[p]) is not None
        and v > table.sensitive_iaqi_above
    }

    level = aqi_level(aqi, table)
    return AqiResult(
        aqi=aqi,
        published=aqi is not None,
        level=None if level is None else level.level,
        level_cn=None if level is None else level.level_cn,
        category=None if level is None else level.category,
        color=None if level is None else level.hex,
        color_name=None if level is None else level.color_name,
        health_effect=None if level is None else level.health_effect,
        advice=None if level is None else level.advice,
        primary=primary,
        primary_indicators=primary_indicators,
        exceedance=exceedance,
        iaqi=MappingProxyType(iaqi_map),
        indicator_iaqi=MappingProxyType(indicator_iaqi),
        missing_indicators=missing,
        ignored=tuple(ignored),
        sensitive_groups=MappingProxyType(sensitive),
        standard=table.code,
        report=report,
    )


def hourly_aqi(
    concentrations: Mapping[str, Number | None],
    table: AqiTable,
    *,
    include_moving_averages: bool = False,
    round_inputs: bool = True,
    not_monitored: Collection[str] = (),
) -> AqiResult:
    """Real-time (实时报) AQI.

    Inputs: ``SO2_1h NO2_1h CO_1h O3_1h PM10_1h PM2.5_1h``.  HJ 633—2012 also takes
    ``SO2_24h`` (only when SO2 1h > 800) and the ``O3_8h PM10_24h PM2.5_24h`` moving
    averages (only with ``include_moving_averages``); HJ 633—2026 ignores them.  See
    :func:`compute_aqi`.
    """
    return compute_aqi(
        "hourly",
        concentrations,
        table,
        include_moving_averages=include_moving_averages,
        round_inputs=round_inputs,
        not_monitored=not_monitored,
    )


def daily_aqi(
    concentrations: Mapping[str, Number | None],
    table: AqiTable,
    *,
    round_inputs: bool = True,
    not_monitored: Collection[str] = (),
) -> AqiResult:
    """Daily (日报) AQI.

    Inputs: ``SO2_24h NO2_24h CO_24h PM10_24h PM2.5_24h O3_8h_max``, and under
    HJ 633—2012 ``O3_1h_max`` (the O3 IAQI is then the larger of the two, the 8h one dropped
    above 800); HJ 633—2026 ignores ``O3_1h_max``.  See :func:`compute_aqi`.
    """
    return compute_aqi(
        "daily", concentrations, table, round_inputs=round_inputs, not_monitored=not_monitored
    )
