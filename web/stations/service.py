"""Station data shaped for the pages: factor names/units/limits, flags in Chinese, series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

from aggregates.analysis import AQI_FACTORS
from protocol.factors import FACTORS, NAMES_2025
from protocol.flags import EXCLUDED_FROM_MEANS, describe, is_valid
from web.standards import limit_info

__all__ = [
    "EXCLUDED_FLAGS",
    "factor_info",
    "flag_label",
    "latest_view",
    "series_payload",
]

#: Flags whose values are left out of means (both cases), for the bucketed series.
EXCLUDED_FLAGS: Final[list[str]] = sorted(
    EXCLUDED_FROM_MEANS | {c.lower() for c in EXCLUDED_FROM_MEANS}
)

#: Ambient-air (ST 22) display units of the platform (µg/m³, CO mg/m³), see web.map.aqi.
AIR_UNITS: Final[Mapping[str, str]] = {
    code: "mg/m³" if pollutant == "CO" else "µg/m³" for pollutant, code in AQI_FACTORS.items()
}
#: GB 3095 limits drawn on air charts: factor → (pollutant, averaging) of the limits table
#: (the particles' 24-hour limits, the gases' 1-hour ones).
AIR_LIMITS: Final[Mapping[str, tuple[str, str]]] = {
    code: (pollutant, "24h" if pollutant.startswith("PM") else "1h")
    for pollutant, code in AQI_FACTORS.items()
}


def flag_label(flag: str | None, edition: str | None) -> str:
    if not flag:
        return "正常"
    info = describe(flag, edition or "2017")
    return info.name_zh if info else f"未定义的数据标记（{flag}）"


def gb3095_limit(
    code: str, st: str | None, today: date, area_class: int = 2
) -> tuple[float, bool, str] | None:
    """(limit, verified, label) of GB 3095 in force on ``today`` for an ambient-air factor,
    at the grade of the station's 功能区类别 (grade I for class 1, II for class 2)."""
    if st != "22" or code not in AIR_LIMITS:
        return None
    pollutant, averaging = AIR_LIMITS[code]
    return limit_info(pollutant, averaging, today, grade=area_class)


def _name(code: str, edition: str | None, known: Any, row: Mapping[str, Any]) -> str:
    """The factor's name as the station's edition names it (HJ 212-2025 renamed the
    flue-gas parameters, ``protocol.factors.NAMES_2025``; the code and series stay one)."""
    if edition == "2025" and code in NAMES_2025:
        return NAMES_2025[code][0]
    return (known.name_zh if known else row.get("name_zh")) or code


def factor_info(
    codes: Iterable[str],
    station: Mapping[str, Any],
    db_factors: Mapping[str, Mapping[str, Any]],
    today: date,
    station_limits: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Name, unit and limit: the station's own alert limit (``alert_limits`` at station
    level, set on the stations admin page), else for ambient air the GB 3095 limit in force
    at the grade of the station's 功能区类别 (``area_class``; with ``limit_verified`` false
    for values marked unverified).  The page overlays the complete effective limits
    (``GET /stations/{id}/limits``)."""
    st = station.get("st")
    edition = station.get("edition")
    area_class = int(station.get("area_class") or 2)
    own = station_limits or {}
    out = []
    for code in codes:
        known = FACTORS.get(code)
        row = db_factors.get(code, {})
        unit = AIR_UNITS.get(code) if st == "22" else None
        limit: float | None = None
        verified, source = True, ""
        if code in own:
            limit, source = float(own[code]), "站点限值"
        elif (gb := gb3095_limit(code, st, today, area_class)) is not None:
            limit, verified, source = gb
        out.append(
            {
                "code": code,
                "name": _name(code, edition, known, row),
                "unit": unit or row.get("unit") or (known.unit if known else ""),
                "limit": limit,
                "limit_source": source,
                "limit_verified": verified,
            }
        )
    return out


def latest_view(station: Mapping[str, Any], factors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest = station.get("latest") or {}
    out = []
    for f in factors:
        entry = latest.get(f["code"]) if isinstance(latest, Mapping) else None
        value = entry.get("v") if isinstance(entry, Mapping) else None
        flag = entry.get("f") if isinstance(entry, Mapping) else None
        limit = f["limit"]
        out.append(
            {
                **f,
                "value": value,
                "flag": flag,
                "flag_label": flag_label(flag, station.get("edition")) if entry else None,
                "valid": is_valid(flag) if entry else None,
                "over_limit": bool(
                    isinstance(value, int | float) and limit is not None and value > limit
                ),
            }
        )
    return out


def series_payload(rows: Iterable[Mapping[str, Any]], *, bucketed: bool) -> dict[str, Any]:
    """Columnar series per factor: ``{code: {"t": [...], "v": [...], "f": [...]}}``."""
    out: dict[str, dict[str, list[Any]]] = {}
    for r in rows:
        s = out.get(r["code"])
        if s is None:
            s = out[r["code"]] = {"t": [], "v": [], "f": []}
            if bucketed:
                s["min"], s["max"], s["n"], s["flagged"] = [], [], [], []
        s["t"].append(r["ts"])
        s["v"].append(r["value"])
        s["f"].append(r["flag"])
        if bucketed:
            s["min"].append(r["vmin"])
            s["max"].append(r["vmax"])
            s["n"].append(r["n"])
            s["flagged"].append(r["flagged"])
    return out
