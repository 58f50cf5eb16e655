"""What the pages must say about the standards tables in force: which values are not
verified (``aggregates.standards``: ``"verified": false`` markers), and which GB 3095 table,
stage and grade a station's limits come from.

The UI marks unverified values (an asterisk and a notice naming the table): an officer must
not take an unverified limit or breakpoint for the official one.  The GB 3095—2026 limits
were checked against the official text and carry no markers; the HJ 663—2026 composite
index and the Table 2 rows of GB 3095—2012 still do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from aggregates.standards import StandardRegistry, default_registry
from aggregates.standards_used import unverified_mark
from store.stations import AREA_CLASSES

__all__ = ["limit_info", "limits_heading", "unverified_notes"]


def _table(registry: StandardRegistry, kind: str, on: date) -> Any:
    if kind == "aqi":
        return registry.aqi_table(on)
    if kind == "limits":
        return registry.limits(on)
    return registry.aqci(on)


def unverified_notes(
    on: date, kinds: Iterable[str] = ("aqi", "limits", "aqci"), registry: Any = None
) -> list[dict[str, Any]]:
    """One entry per table in force on ``on`` that has unverified values: the table's
    code, how many values, their JSON pointers and notes, the "未核实" mark with its
    one-line reason and a sentence for the page (:func:`aggregates.standards_used.
    unverified_mark`)."""
    reg = registry or default_registry()
    marks = (unverified_mark(_table(reg, kind, on)) for kind in kinds)
    return [m for m in marks if m is not None]


def limit_info(
    pollutant: str, averaging: str, on: date, registry: Any = None, grade: int = 2
) -> tuple[float, bool, str] | None:
    """(limit, verified, label) of GB 3095 in force on ``on`` for ``grade`` (1 for a
    class-1 station, 2 otherwise), or None; the label names the table, stage and grade
    ("GB 3095—2026 过渡阶段 二级"), taken from the table."""
    table = (registry or default_registry()).limits(on)
    try:
        row = table.row(pollutant, averaging)
    except KeyError:
        return None
    return float(table.limit(pollutant, averaging, grade)), bool(row.verified), table.label(grade)


def limits_heading(on: date, area_class: int = 2, registry: Any = None) -> dict[str, Any]:
    """The GB 3095 table a station of ``area_class`` is judged by on ``on``, for a page:
    code, stage, grade, label ("GB 3095—2026 过渡阶段 一级") and the class in Chinese."""
    table = (registry or default_registry()).limits(on)
    return {
        "id": table.id,
        "code": table.code,
        "stage": table.stage,
        "grade": area_class,
        "label": table.label(area_class),
        "area_class": area_class,
        "area_class_zh": AREA_CLASSES[area_class],
    }
