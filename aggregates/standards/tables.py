"""The standards tables as data: the common header (:class:`Standard`) and the AQI (HJ 633),
limits (GB 3095) and composite-index (AQCI) tables, each value marked verified or not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Literal

__all__ = [
    "AQCI_ROUNDINGS",
    "GRADE_ZH",
    "AboveTop",
    "AqciEntry",
    "AqciRounding",
    "AqciTable",
    "AqiTable",
    "IaqiColumn",
    "Indicator",
    "Kind",
    "Level",
    "LimitRow",
    "LimitsTable",
    "NoData",
    "ReportSpec",
    "Standard",
    "UnverifiedValue",
]

Kind = Literal["aqi", "limits", "aqci"]


@dataclass(frozen=True, slots=True)
class UnverifiedValue:
    """A node of a standards file marked ``"verified": false``.

    ``pointer`` is the RFC 6901 JSON pointer inside the file (``/iaqi/columns/PM2.5_24h/
    breakpoints/2``); ``value`` the node with cell wrappers removed (numbers as Fraction).
    """

    pointer: str
    value: object
    note: str | None
    source: str | None


def touches(pointer: str, marked: str) -> bool:
    """True when ``marked`` is ``pointer``, an ancestor of it or a descendant of it."""
    if marked == "/":
        return True
    return marked == pointer or pointer.startswith(marked + "/") or marked.startswith(pointer + "/")


@dataclass(frozen=True, slots=True)
class Standard:
    """Common header of every standards file."""

    id: str
    kind: Kind
    code: str
    name: str
    effective_from: date
    effective_to: date | None
    source_file: str
    notes: tuple[str, ...]
    unverified_values: tuple[UnverifiedValue, ...]
    #: (JSON pointer, citation) of every ``"source"`` in the file: where in the official
    #: text each table or value comes from (``"HJ 633—2026 表3, p. 3 (PDF p. 6)"``).
    sources: tuple[tuple[str, str], ...]

    def applies_on(self, on: date) -> bool:
        """Whether the table is in force for data of day ``on``."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def unverified(self, prefix: str = "") -> tuple[UnverifiedValue, ...]:
        """Unverified nodes at or below JSON pointer ``prefix`` (all when empty), plus any
        marked ancestor of ``prefix`` (which makes the whole prefix unverified)."""
        if not prefix:
            return self.unverified_values
        return tuple(u for u in self.unverified_values if touches(prefix, u.pointer))

    def is_verified(self, pointer: str) -> bool:
        """False when the node at ``pointer``, an ancestor or anything inside it is marked."""
        return not self.unverified(pointer)


@dataclass(frozen=True, slots=True)
class AboveTop:
    """What a concentration above a column's last breakpoint gives (AQI.md §1.6).

    ``cap``: the IAQI of the last breakpoint (500 for full columns); ``not_computed``: no
    IAQI (``None``; HJ 633-2012 Table 1 notes 2 and 3); ``fixed``: the constant ``iaqi``.
    """

    rule: Literal["cap", "not_computed", "fixed"]
    iaqi: int | None = None


@dataclass(frozen=True, slots=True)
class IaqiColumn:
    """One column of HJ 633 Table 1: breakpoints aligned with the IAQI levels."""

    key: str
    pollutant: str
    averaging: str
    unit: str
    iaqi_levels: tuple[int, ...]
    breakpoints: tuple[Fraction, ...]
    above_top: AboveTop
    pointer: str


IndicatorRole = Literal["standard", "substitute", "moving_average", "ignored"]


@dataclass(frozen=True, slots=True)
class Indicator:
    """An input of a report (``SO2_1h``, ``O3_8h_max`` ...) and the column it is indexed on.

    ``role``: ``standard`` enters max(); ``substitute`` enters only in place of an indicator
    whose IAQI is not computed (SO2 24h for SO2 1h > 800); ``moving_average`` enters only
    when the caller opts in (the alternative reading of HJ 633 §5 real-time indicators);
    ``ignored``: accepted as input but not an indicator of this edition (HJ 633—2026 dropped
    the O3 daily maximum 1h from the daily report and the moving averages from the real-time
    one), so it never enters the AQI.
    """

    key: str
    column: str
    pollutant: str
    role: IndicatorRole
    substitute: str | None
    pointer: str


@dataclass(frozen=True, slots=True)
class ReportSpec:
    name: str
    indicators: Mapping[str, Indicator]


@dataclass(frozen=True, slots=True)
class Level:
    """A row of HJ 633 Table 2 with the Appendix A colour values (AQI.md §1.4)."""

    level: int
    level_cn: str
    category: str
    aqi_min: int
    aqi_max: int | None
    color_name: str
    rgb: tuple[int, int, int]
    hex: str
    cmyk: tuple[int, int, int, int]
    health_effect: str
    advice: str
    verified: bool


@dataclass(frozen=True, slots=True)
class NoData:
    """How "no AQI" is shown (platform convention, not part of HJ 633)."""

    label: str
    color_name: str
    rgb: tuple[int, int, int]
    hex: str


@dataclass(frozen=True, slots=True)
class AqiTable(Standard):
    """HJ 633 tables: IAQI breakpoints, report definitions, levels and colours."""

    iaqi_levels: tuple[int, ...]
    columns: Mapping[str, IaqiColumn]
    reports: Mapping[str, ReportSpec]
    levels: tuple[Level, ...]
    no_data: NoData
    pollutant_order: tuple[str, ...]
    reporting_decimals: Mapping[str, int]
    primary_above: int
    exceedance_above: int | None
    #: HJ 633—2026 §5.3.1: with an indicator missing, the AQI of the others is published
    #: only when it is above this value (100); ``None``: no such rule (HJ 633—2012).
    missing_publish_above: int | None = None
    #: HJ 633—2026 Table 2: pollutant → the sensitive groups who should take the advised
    #: measures when its IAQI is above ``sensitive_iaqi_above``; empty for HJ 633—2012.
    sensitive_groups: Mapping[str, str] = field(default_factory=dict)
    sensitive_iaqi_above: int = 100

    def column_for(self, key: str) -> IaqiColumn:
        """The column for a column key (``SO2_24h``) or a report indicator (``PM2.5_1h``,
        ``O3_8h_max``); raises ``KeyError`` naming the key otherwise."""
        col = self.columns.get(key)
        if col is not None:
            return col
        for report in self.reports.values():
            ind = report.indicators.get(key)
            if ind is not None:
                return self.columns[ind.column]
        raise KeyError(f"unknown pollutant column {key!r} in {self.code}")


@dataclass(frozen=True, slots=True)
class LimitRow:
    """GB 3095 concentration limit of one pollutant and averaging time (AQI.md §4)."""

    pollutant: str
    averaging: str
    unit: str
    grade_1: Fraction
    grade_2: Fraction
    description: str | None
    verified: bool


#: GB 3095 grades as the standard names them (grade I for class-1 areas, II for class 2).
GRADE_ZH: Mapping[int, str] = {1: "一级", 2: "二级"}


@dataclass(frozen=True, slots=True)
class LimitsTable(Standard):
    """GB 3095 limits of one edition and stage.

    ``stage``: the optional header field naming the set of values when an edition has
    several (GB 3095—2026: ``过渡阶段`` to 2030-12-31, ``最终限值`` from 2031-01-01); None
    for an edition with one set (GB 3095—2012).
    """

    rows: tuple[LimitRow, ...]
    stage: str | None = None

    @property
    def heading(self) -> str:
        """The edition and stage, for display: "GB 3095—2026 过渡阶段", "GB 3095—2012"."""
        return f"{self.code} {self.stage}" if self.stage else self.code

    def label(self, grade: int = 2) -> str:
        """What a page says a value was judged by: "GB 3095—2026 过渡阶段 一级"."""
        if grade not in GRADE_ZH:
            raise ValueError(f"grade must be 1 or 2, not {grade!r}")
        return f"{self.heading} {GRADE_ZH[grade]}"

    def row(self, pollutant: str, averaging: str) -> LimitRow:
        for r in self.rows:
            if r.pollutant == pollutant and r.averaging == averaging:
                return r
        raise KeyError(f"no {pollutant} {averaging} limit in {self.code}")

    def limit(self, pollutant: str, averaging: str, grade: int = 2) -> Fraction:
        """The grade-I (``grade=1``) or grade-II (default) limit."""
        r = self.row(pollutant, averaging)
        if grade == 1:
            return r.grade_1
        if grade == 2:
            return r.grade_2
        raise ValueError(f"grade must be 1 or 2, not {grade!r}")


AqciStatistic = Literal["mean", "percentile"]
AqciSource = Literal["daily_mean", "mda8"]
AqciRounding = Literal["per_index", "rounded_statistics", "exact"]
AQCI_ROUNDINGS: tuple[AqciRounding, ...] = ("per_index", "rounded_statistics", "exact")


@dataclass(frozen=True, slots=True)
class AqciEntry:
    """One term of the composite index: I_i = C_i / S_i, weighted (AQI.md §2.4)."""

    pollutant: str
    statistic: AqciStatistic
    percentile: Fraction | None
    source: AqciSource
    s: Fraction
    unit: str
    weight: Fraction
    statistic_decimals: int
    verified: bool


@dataclass(frozen=True, slots=True)
class AqciTable(Standard):
    entries: tuple[AqciEntry, ...]
    decimals: int
    rounding: AqciRounding

    def entry(self, pollutant: str) -> AqciEntry:
        for e in self.entries:
            if e.pollutant == pollutant:
                return e
        raise KeyError(f"no composite-index term for {pollutant!r} in {self.code}")

    @property
    def pollutants(self) -> tuple[str, ...]:
        return tuple(e.pollutant for e in self.entries)
