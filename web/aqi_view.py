"""What a page shows beside an AQI, taken from the HJ 633 table that computed it: the
table's code, the level's health effect and advice (HJ 633—2012 Table 2 / HJ 633—2026
Table 1 — each table's own text), and, for every pollutant whose IAQI is above the table's
threshold, its sensitive groups (HJ 633—2026 Table 2; none under HJ 633—2012)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aggregates.standards import AqiTable

__all__ = ["aqi_texts"]


def aqi_texts(table: AqiTable, level: int | None, iaqi: Mapping[str, int | None]) -> dict[str, Any]:
    """``standard``, ``health_effect``, ``advice`` (``None`` without a level, e.g. an AQI
    that is not published) and ``sensitive_groups`` (pollutant → groups, in the table's
    pollutant order) for an AQI of ``level`` with the single indices ``iaqi``."""
    found = next((lv for lv in table.levels if lv.level == level), None)
    groups = {
        p: table.sensitive_groups[p]
        for p in table.pollutant_order
        if p in table.sensitive_groups
        and (v := iaqi.get(p)) is not None
        and v > table.sensitive_iaqi_above
    }
    return {
        "standard": table.code,
        "health_effect": found.health_effect if found is not None else None,
        "advice": found.advice if found is not None else None,
        "sensitive_groups": groups,
    }
