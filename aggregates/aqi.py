"""Air quality index per HJ 633 (环境空气质量指数技术规定), exact arithmetic.

Pure functions over an :class:`~aggregates.standards.AqiTable` (the breakpoints, report
definitions and levels are data, chosen by date through
:meth:`~aggregates.standards.StandardRegistry.aqi_table`).  Clause references are to
HJ 633-2012 and to ``/work/shared/standards/AQI.md`` ("AQI.md").

* IAQI: formula (1) of HJ 633-2012 §4.2 evaluated exactly with :class:`Fraction`, then
  rounded **up** (进位取整, AQI.md §1.6).  A float implementation gets CO 24h 2.2 mg/m3
  wrong (56 instead of 55); here 2.2 is 11/5.
* Above the last breakpoint (AQI.md §1.6): full columns cap at IAQI 500; the truncated
  columns SO2 1h and O3 8h give ``None`` ("not computed", Table 1 notes 2 and 3).
* AQI = max of the pollutant IAQIs (formula (2), §4.3); 首要污染物 only when AQI > 50, ties
  all listed; 超标污染物 every pollutant with IAQI > 100 (§3, AQI.md §1.3).
* Reports (AQI.md §1.5): the 实时报 (hourly) uses the 1h columns — SO2 24h enters only in
  place of SO2 1h > 800 (note 2) — and indexes the hourly PM value on the 24h column (the
  CNEMC convention, encoded in the table's ``reports/hourly`` section).  The 日报 (daily)
  uses the 24h columns and O3 as both its daily maximum 1h value and daily maximum 8h
  moving average (O3 8h max > 800 leaves the 1h one, note 3).
* Reported concentrations are rounded by GB/T 8170 half-even (integers in ug/m3, CO to
  0.1 mg/m3) before indexing (AQI.md §1.6; ``round_inputs``).

Canonical keys are those of ``aqi_vectors_2012.json``: indicator keys such as ``SO2_1h``,
``PM2.5_24h``, ``O3_8h_max`` for inputs and ``SO2`` … ``PM2.5`` for pollutants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    """Formula (1) of HJ 633-2012 §4.2 without rounding (AQI.md §1.2).

    ``IAQI = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C − BP_Lo) + IAQI_Lo`` on the
    continuous segment containing ``C`` (a breakpoint value gives its own IAQI).  Above the
    last breakpoint the column's ``above_top`` rule applies: ``cap`` → the top IAQI (500),
    ``not_computed`` → ``None`` (SO2 1h, O3 8h: Table 1 notes 2, 3), ``fixed`` → constant.
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
    """The HJ 633 Table 2 level of an AQI (AQI.md §1.4): 0–50 一级 优 … > 300 六级 严重污染.

    ``None`` (no data) gives ``None``; the caller shows ``table.no_data`` (grey).
    """
    if aqi is None:
        return None
    if isinstance(aqi, bool) or not isinstance(aqi, int):
        raise TypeError(f"AQI must be an integer, not {aqi!r}")
    if aqi < 0:
        raise ValueError(f"negative AQI {aqi}")
    for level in table.levels:
        if aqi >= level.aqi_min and (level.aqi_max is None or aqi <= level.aqi_max):
            return level
    raise ValueError(f"AQI {aqi} is above the last level of {table.code}")


@dataclass(frozen=True, slots=True)
class AqiResult:
    """One AQI (HJ 633-2012 §4.3, §5).

    ``iaqi`` maps pollutant → IAQI for the pollutants that took part (``None``: supplied but
    not computed and no substitute); ``indicator_iaqi`` maps every supplied indicator to its
    own IAQI (also those that did not enter max(), e.g. SO2 24h in the hourly report);
    ``primary``/``primary_indicators`` are empty when AQI ≤ 50; ``color``/``color_name`` are
    the no-data grey when ``aqi`` is ``None``.
    """

    aqi: int | None
    level: int | None
    level_cn: str | None
    category: str | None
    color: str
    color_name: str
    primary: tuple[str, ...]
    primary_indicators: tuple[str, ...]
    exceedance: tuple[str, ...]
    iaqi: Mapping[str, int | None]
    indicator_iaqi: Mapping[str, int | None]
    standard: str
    report: ReportKind

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


def compute_aqi(
    report: ReportKind,
    concentrations: Mapping[str, Number | None],
    table: AqiTable,
    *,
    include_moving_averages: bool = False,
    round_inputs: bool = True,
) -> AqiResult:
    """AQI of one report period from indicator concentrations (HJ 633-2012 §4–§5).

    Keys must be indicators of the table's ``report`` section (``ValueError`` naming the key
    otherwise); ``None`` values and absent keys simply do not participate; negative or
    non-numeric values raise ``ValueError``.  With ``round_inputs`` (default) each value is
    first rounded to its GB/T 8170 reporting precision (AQI.md §1.6).
    ``include_moving_averages`` (hourly only) lets the O3 8h and PM 24h moving averages
    enter max() — the alternative reading of the nine real-time indicators (AQI.md §1.5);
    the default follows the vectors and every whole-AQI implementation examined.
    """
    if report not in table.reports:
        raise ValueError(f"unknown report {report!r} (expected hourly or daily)")
    spec = table.reports[report]
    values: dict[str, Fraction] = {}
    for key, raw in concentrations.items():
        if key not in spec.indicators:
            known = ", ".join(spec.indicators)
            raise ValueError(f"unknown {report} indicator {key!r} (expected one of: {known})")
        if raw is None:
            continue
        c = _nonnegative(key, raw)
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
    # Table 1 notes 2 and 3: an indicator whose IAQI is not computed is replaced by its
    # substitute (SO2 1h > 800 → SO2 24h; O3 8h > 800 → O3 1h).
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

    computed = [v for v in iaqi_map.values() if v is not None]
    aqi = max(computed) if computed else None
    primary: tuple[str, ...] = ()
    primary_indicators: tuple[str, ...] = ()
    if aqi is not None and aqi > table.primary_above:
        primary = tuple(p for p in pollutants if iaqi_map[p] == aqi)
        primary_indicators = tuple(
            k for k in order if k in participating and indicator_iaqi[k] == aqi
        )
    exceedance: tuple[str, ...] = ()
    limit = table.exceedance_above
    if limit is not None:
        exceedance = tuple(p for p in pollutants if (v := iaqi_map[p]) is not None and v > limit)

    level = aqi_level(aqi, table)
    if level is None:
        color, color_name = table.no_data.hex, table.no_data.color_name
    else:
        color, color_name = level.hex, level.color_name
    return AqiResult(
        aqi=aqi,
        level=None if level is None else level.level,
        level_cn=None if level is None else level.level_cn,
        category=None if level is None else level.category,
        color=color,
        color_name=color_name,
        primary=primary,
        primary_indicators=primary_indicators,
        exceedance=exceedance,
        iaqi=MappingProxyType(iaqi_map),
        indicator_iaqi=MappingProxyType(indicator_iaqi),
        standard=table.code,
        report=report,
    )


def hourly_aqi(
    concentrations: Mapping[str, Number | None],
    table: AqiTable,
    *,
    include_moving_averages: bool = False,
    round_inputs: bool = True,
) -> AqiResult:
    """Real-time (实时报) AQI, HJ 633-2012 §5 and Table 1 notes 1–3 (AQI.md §1.5).

    Inputs: ``SO2_1h NO2_1h CO_1h O3_1h PM10_1h PM2.5_1h`` (+ ``SO2_24h``, used only when
    SO2 1h > 800; + ``O3_8h PM10_24h PM2.5_24h`` moving averages, used only with
    ``include_moving_averages``).  See :func:`compute_aqi`.
    """
    return compute_aqi(
        "hourly",
        concentrations,
        table,
        include_moving_averages=include_moving_averages,
        round_inputs=round_inputs,
    )


def daily_aqi(
    concentrations: Mapping[str, Number | None],
    table: AqiTable,
    *,
    round_inputs: bool = True,
) -> AqiResult:
    """Daily (日报) AQI, HJ 633-2012 §5 (AQI.md §1.5).

    Inputs: ``SO2_24h NO2_24h CO_24h PM10_24h PM2.5_24h O3_1h_max O3_8h_max``; the O3 IAQI
    is the larger of IAQI(O3 1h max) and IAQI(O3 8h max), the latter dropped above 800
    (note 3).  See :func:`compute_aqi`.
    """
    return compute_aqi("daily", concentrations, table, round_inputs=round_inputs)
