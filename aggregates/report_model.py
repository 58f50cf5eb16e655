"""The report document: plain data — a title, tables (columns + rows + summary rows), notes
and chart data — built by :mod:`aggregates.reports` and rendered by :mod:`aggregates.exports`,
so that every export format (XLSX, CSV, PDF, DOCX, PNG/JPG) shows the same numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from aggregates.analysis import AQI_FACTORS
from aggregates.periods import Period
from aggregates.selection import Db, Scope
from aggregates.settings import AggregatesConfig

__all__ = ["Cell", "Chart", "Column", "Progress", "Report", "ReportSpec", "Table"]

Cell: TypeAlias = str | int | float | Decimal | None
Progress = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """What to report: ``scope`` and ``key`` (station MN, region name, grid area code),
    the period, the factor codes (default: the six AQI pollutants), and whether the
    data-audit log goes with it."""

    scope: Scope
    key: str
    period: Period
    factors: tuple[str, ...] = tuple(AQI_FACTORS.values())
    title: str | None = None
    #: Append the data-audit log of the stations and period (aggregates.audit.report_table).
    audit_log: bool = False


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    unit: str = ""
    decimals: int | None = None  # numbers: places shown; None = as is (text, integers)
    width: int = 10  # characters (XLSX column width)


@dataclass(slots=True)
class Table:
    name: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    summary: list[list[Cell]] = field(default_factory=list)
    #: Too wide for a page (daily matrices): XLSX/CSV only; PDF/DOCX say where to find it.
    wide: bool = False


@dataclass(frozen=True, slots=True)
class Chart:
    kind: Literal["line", "bar", "pie"]
    title: str
    categories: list[str]
    series: dict[str, list[float | None]]
    colors: list[str] | None = None  # per category (bar, pie)
    y_label: str = ""


@dataclass(slots=True)
class Report:
    spec: ReportSpec
    title: str
    subtitle: str
    generated_at: datetime
    tables: list[Table]
    notes: list[str]
    charts: dict[str, Chart]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> Table:
        return self.tables[0]


@dataclass(frozen=True, slots=True)
class ReportJob:
    """What every report builder works with: the database, the settings, the report it fills,
    the factors' names and units (``factor_info``) and the progress callback."""

    db: Db
    settings: AggregatesConfig
    report: Report
    info: Mapping[str, Mapping[str, Any]]
    step: Progress
