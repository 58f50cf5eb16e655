"""环境空气质量综合指数 (AQCI, composite index) for city/station rankings, exact arithmetic.

Defined by MEE's 《城市环境空气质量排名技术规定》 (2018 edition) on HJ 663-2013 statistics;
see ``/work/shared/standards/AQI.md`` §2.4 ("AQI.md").  The definition (pollutants,
statistics, S_i, weights, default rounding) is data: an :class:`~aggregates.standards.
AqciTable` chosen by date with :meth:`~aggregates.standards.StandardRegistry.aqci`.

    I_i = C_i / S_i ;   I_sum = Σ w_i · I_i          (w_i = 1 in the 2018 rules)

C_i is the period mean of the daily means for SO2, NO2, PM10, PM2.5, the 95th percentile
of the daily means for CO and the 90th percentile of the daily MDA8 for O3 (HJ 663-2013
percentiles, :func:`aggregates.validity.percentile`).  S_i: 60, 40, 70, 35 ug/m3 (annual
grade II), CO 4 mg/m3, O3 160 ug/m3.

Rounding (AQI.md §2.4 leaves it open; the variant is a named parameter, the table gives
the default):

``per_index`` (default)
    statistics rounded by GB/T 8170 (integer ug/m3, CO 0.1 mg/m3), each I_i rounded to
    2 decimals half-even, then summed (the Heyuan Feb 2022 bulletin: 1.73).
``rounded_statistics``
    statistics rounded by GB/T 8170, exact sum rounded to 2 decimals.
``exact``
    exact statistics, exact sum rounded to 2 decimals (the Hulunbuir example: 3.06).

All three agree on the vectors of ``aqi_vectors_2012.json``.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from aggregates.standards import (
    AQCI_ROUNDINGS,
    AqciEntry,
    AqciRounding,
    AqciTable,
    Number,
    fraction_to_decimal,
    round_half_even,
    to_fraction,
)
from aggregates.validity import annual_valid, mean, monthly_valid, percentile

__all__ = [
    "STAT_ALIASES",
    "AqciResult",
    "PeriodStats",
    "canonical_stat_key",
    "composite_index",
    "period_stats",
    "single_indices",
]

#: Accepted spellings of the statistic keys besides the pollutant names.
STAT_ALIASES: Mapping[str, str] = MappingProxyType(
    {"CO_P95": "CO", "O3_8h_P90": "O3", "O3_P90": "O3", "O3_8h": "O3"}
)

_MDA8_KEYS = ("O3_8h_max", "O3_8h", "O3")


def canonical_stat_key(key: str, table: AqciTable) -> str:
    """``"CO_P95"`` → ``"CO"``; raises ``ValueError`` for a key the table does not know."""
    pol = STAT_ALIASES.get(key, key)
    if pol not in table.pollutants:
        known = ", ".join(table.pollutants)
        raise ValueError(f"unknown statistic {key!r} (expected one of: {known})")
    return pol


@dataclass(frozen=True, slots=True)
class PeriodStats:
    """Period statistics C_i with their validity (GB 3095-2012 Table 4, AQI.md §2.2).

    ``values``: exact statistic per pollutant (``None``: no valid day); ``counts``: valid
    daily values used; ``valid``: whether the period has enough valid days (monthly: 27,
    February 25; annual: 324 and 27/25 per month), ``None`` when no period was given.
    """

    values: Mapping[str, Fraction | None]
    counts: Mapping[str, int]
    valid: Mapping[str, bool | None]
    period: str | None


def _statistic(entry: AqciEntry, series: Sequence[Number | None]) -> Fraction | None:
    if all(v is None for v in series):
        return None
    if entry.statistic == "mean":
        return mean(series)
    assert entry.percentile is not None
    return percentile(series, entry.percentile)


def period_stats(
    daily_series: Mapping[str, Sequence[Number | None]],
    daily_mda8: Sequence[Number | None] | None = None,
    *,
    table: AqciTable,
    year: int | None = None,
    month: int | None = None,
) -> PeriodStats:
    """Compute the statistics C_i of a period from daily values (AQI.md §2.4, HJ 663-2013).

    ``daily_series`` maps a pollutant (``"SO2"``; ``"SO2_24h"`` also accepted) to its daily
    means, one per day of the period (``None`` = invalid day).  The O3 MDA8 series is
    ``daily_mda8`` or ``daily_series["O3_8h_max"]`` (also ``"O3_8h"``/``"O3"``).  Mean
    statistics use the valid days; CO is the 95th percentile of the daily means; O3 the
    90th percentile of MDA8 (per the table).

    Validity: with ``year`` and ``month`` the series is that month (day 1 first) and is
    checked with :func:`~aggregates.validity.monthly_valid`; with ``year`` only it is that
    year from 1 January and is checked with :func:`~aggregates.validity.annual_valid`.
    """
    if month is not None and year is None:
        raise ValueError("month needs year")
    if year is not None:
        start = date(year, month or 1, 1)
        days = (
            calendar.monthrange(year, month)[1]
            if month is not None
            else (date(year + 1, 1, 1) - start).days
        )
        period: str | None = f"{year}-{month:02d}" if month is not None else str(year)
    else:
        start, days, period = date(1970, 1, 1), 0, None

    series_for: dict[str, Sequence[Number | None]] = {}
    used: dict[str, str] = {}
    for key, series in daily_series.items():
        pol = key[: -len("_24h")] if key.endswith("_24h") else key
        entry_pol = "O3" if key in _MDA8_KEYS else pol
        try:
            entry = next(e for e in table.entries if e.pollutant == entry_pol)
        except StopIteration:
            raise ValueError(f"unknown daily series {key!r}") from None
        if entry.source == "mda8" and key not in _MDA8_KEYS:
            raise ValueError(f"daily series {key!r}: {entry_pol} needs daily MDA8 values")
        if entry.source == "daily_mean" and key in _MDA8_KEYS:
            raise ValueError(f"daily series {key!r}: {entry_pol} needs daily means")
        if entry_pol in used:
            raise ValueError(f"daily series {key!r} and {used[entry_pol]!r} are the same")
        used[entry_pol] = key
        series_for[entry_pol] = series
    if daily_mda8 is not None:
        o3 = next((e for e in table.entries if e.source == "mda8"), None)
        if o3 is None:
            raise ValueError(f"{table.code} uses no MDA8 statistic")
        if o3.pollutant in used:
            raise ValueError(f"MDA8 given twice (daily_mda8 and {used[o3.pollutant]!r})")
        series_for[o3.pollutant] = daily_mda8

    values: dict[str, Fraction | None] = {}
    counts: dict[str, int] = {}
    valid: dict[str, bool | None] = {}
    for entry in table.entries:
        found = series_for.get(entry.pollutant)
        if found is None:
            continue
        if period is not None and len(found) > days:
            raise ValueError(
                f"{entry.pollutant}: {len(found)} daily values for {period} ({days} days)"
            )
        values[entry.pollutant] = _statistic(entry, found)
        n_valid = sum(1 for v in found if v is not None)
        counts[entry.pollutant] = n_valid
        if year is None:
            valid[entry.pollutant] = None
        elif month is not None:
            valid[entry.pollutant] = monthly_valid(n_valid, year, month)
        else:
            per_month = [0] * 12
            for i, v in enumerate(found):
                if v is not None:
                    per_month[(start + timedelta(days=i)).month - 1] += 1
            valid[entry.pollutant] = annual_valid(per_month)
    return PeriodStats(
        values=MappingProxyType(values),
        counts=MappingProxyType(counts),
        valid=MappingProxyType(valid),
        period=period,
    )


def _stat_values(
    stats: PeriodStats | Mapping[str, Number | None], table: AqciTable
) -> dict[str, Fraction]:
    raw: Mapping[str, Number | None] = stats.values if isinstance(stats, PeriodStats) else stats
    out: dict[str, Fraction] = {}
    for key, value in raw.items():
        pol = canonical_stat_key(key, table)
        if pol in out:
            raise ValueError(f"statistic {pol} given twice")
        if value is None:
            continue
        c = to_fraction(value, key)
        if c < 0:
            raise ValueError(f"{key}: negative statistic {value!r}")
        out[pol] = c
    return out


def single_indices(
    stats: PeriodStats | Mapping[str, Number | None], table: AqciTable
) -> dict[str, Fraction]:
    """Single indices I_i = C_i / S_i, exact and unweighted (AQI.md §2.4), for the
    pollutants present (keys may be aliases such as ``"CO_P95"``)."""
    values = _stat_values(stats, table)
    return {e.pollutant: values[e.pollutant] / e.s for e in table.entries if e.pollutant in values}


@dataclass(frozen=True, slots=True)
class AqciResult:
    """A composite index (AQI.md §2.4).

    ``aqci``: 2 decimals half-even by the ``rounding`` variant; ``aqci_unrounded``: exact
    Σ w_i·C_i/S_i on exact statistics; ``indices``: exact unweighted I_i;
    ``max_index_pollutants``: pollutants with the largest I_i (ties all listed);
    ``statistics_rounded``: C_i by GB/T 8170; ``missing``: table pollutants without data.
    """

    aqci: Decimal
    aqci_unrounded: Fraction
    indices: Mapping[str, Fraction]
    max_index_pollutants: tuple[str, ...]
    standard: str
    rounding: AqciRounding
    statistics: Mapping[str, Fraction]
    statistics_rounded: Mapping[str, Decimal]
    weights: Mapping[str, Fraction]
    missing: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the ``envgrid aqci`` output; exact values as floats)."""
        return {
            "aqci": float(self.aqci),
            "aqci_unrounded": float(self.aqci_unrounded),
            "indices": {k: float(v) for k, v in self.indices.items()},
            "max_index": list(self.max_index_pollutants),
            "standard": self.standard,
            "rounding": self.rounding,
            "statistics": {k: float(v) for k, v in self.statistics.items()},
            "statistics_rounded": {k: float(v) for k, v in self.statistics_rounded.items()},
            "weights": {k: float(v) for k, v in self.weights.items()},
            "missing": list(self.missing),
        }


def composite_index(
    stats: PeriodStats | Mapping[str, Number | None],
    table: AqciTable,
    *,
    rounding: AqciRounding | None = None,
    allow_missing: bool = False,
) -> AqciResult:
    """The composite index I_sum = Σ w_i·C_i/S_i (AQI.md §2.4).

    ``stats``: :class:`PeriodStats` or a mapping pollutant → C_i (aliases ``CO_P95``,
    ``O3_8h_P90`` accepted).  ``rounding``: ``per_index``, ``rounded_statistics`` or
    ``exact`` (module docstring); ``None`` takes the table's default (``per_index``).
    A pollutant of the table without a statistic raises ``ValueError`` unless
    ``allow_missing``, in which case the sum runs over the others and ``missing`` lists it.
    """
    variant: AqciRounding = table.rounding if rounding is None else rounding
    if variant not in AQCI_ROUNDINGS:
        raise ValueError(f"rounding must be one of {', '.join(AQCI_ROUNDINGS)}, not {variant!r}")
    values = _stat_values(stats, table)
    entries = [e for e in table.entries if e.pollutant in values]
    missing = tuple(e.pollutant for e in table.entries if e.pollutant not in values)
    if missing and not allow_missing:
        raise ValueError(f"missing statistics for {', '.join(missing)}")
    if not entries:
        raise ValueError("no statistics")

    indices = {e.pollutant: values[e.pollutant] / e.s for e in entries}
    rounded = {
        e.pollutant: fraction_to_decimal(values[e.pollutant], e.statistic_decimals) for e in entries
    }
    unrounded = sum((e.weight * indices[e.pollutant] for e in entries), Fraction(0))
    if variant == "exact":
        total = unrounded
    elif variant == "rounded_statistics":
        total = sum((e.weight * Fraction(rounded[e.pollutant]) / e.s for e in entries), Fraction(0))
    else:
        total = sum(
            (
                e.weight * round_half_even(Fraction(rounded[e.pollutant]) / e.s, table.decimals)
                for e in entries
            ),
            Fraction(0),
        )
    top = max(indices.values())
    return AqciResult(
        aqci=fraction_to_decimal(total, table.decimals),
        aqci_unrounded=unrounded,
        indices=MappingProxyType(indices),
        max_index_pollutants=tuple(p for p, v in indices.items() if v == top),
        standard=table.code,
        rounding=variant,
        statistics=MappingProxyType({e.pollutant: values[e.pollutant] for e in entries}),
        statistics_rounded=MappingProxyType(rounded),
        weights=MappingProxyType({e.pollutant: e.weight for e in entries}),
        missing=missing,
    )
