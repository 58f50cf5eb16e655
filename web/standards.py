"""What the pages must say about the standards tables in force: which values of the 2026
revisions are not verified (``aggregates.standards``: ``"verified": false`` markers).

The UI marks such values (an asterisk and a notice naming the table): the shipped 2026
tables (HJ 633-2026, GB 3095-2026, the HJ 663-2026 composite index) were transcribed from
secondary sources, and an officer must not take an unverified limit or breakpoint for
the official one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from aggregates.standards import StandardRegistry, default_registry
from aggregates.standards_used import unverified_mark

__all__ = ["limit_info", "unverified_notes"]


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
    pollutant: str, averaging: str, on: date, registry: Any = None
) -> tuple[float, bool, str] | None:
    """(grade-II limit, verified, table code) of GB 3095 in force on ``on``, or None."""
    table = (registry or default_registry()).limits(on)
    try:
        row = table.row(pollutant, averaging)
    except KeyError:
        return None
    return float(row.grade_2), bool(row.verified), table.code
