"""The descriptive labels stored with a station factor's alert (station, MN, factor, unit)."""

from __future__ import annotations

from typing import Any

from .config import AlertConfig, FactorInfo, StationInfo

__all__ = ["factor_labels"]


def factor_labels(config: AlertConfig, station: StationInfo, factor: FactorInfo) -> dict[str, Any]:
    """Station name, MN, station type, factor code and name, and the unit of its values."""
    return {
        "station_name": station.name,
        "mn": station.mn,
        "st": station.st,
        "factor_code": factor.code,
        "factor_name": factor.name_zh,
        "unit": config.unit_for(station, factor),
    }
