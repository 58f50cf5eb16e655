"""The heat map: an inverse-distance-weighted surface of AQI or a factor over the stations'
values of one day or hour (the pure geometry is :mod:`aggregates.spatial`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from aggregates.aqi_series import hourly_aqi_at, station_daily_aqi
from aggregates.official import daily, hourly
from aggregates.selection import Db, Selection, local_tz, registry_for, select_stations
from aggregates.settings import AggregatesConfig
from aggregates.spatial import idw_geojson

__all__ = ["idw_grid", "station_points", "surface"]


async def station_points(
    db: Db,
    settings: AggregatesConfig,
    what: str,
    at: date | datetime,
    selection: Selection | None = None,
) -> list[tuple[float, float, float]]:
    """(lon, lat, value) of every located station with a valid value of ``what``
    (``"aqi"`` or a factor code) at ``at``: a local day (daily AQI / daily mean) or an aware
    hour start (hourly AQI / the hourly value)."""
    stations = [s for s in await select_stations(db, selection) if s.lat is not None]
    by_id = {s.id: s for s in stations}
    points: list[tuple[float, float, float]] = []

    def add(station_id: int, value: float) -> None:
        s = by_id.get(station_id)
        if s is not None and s.lat is not None and s.lon is not None:
            points.append((s.lon, s.lat, value))

    if what == "aqi" and isinstance(at, datetime):
        for s, res in await hourly_aqi_at(db, settings, at, selection):
            if res.aqi is not None:
                add(s.id, float(res.aqi))
    elif what == "aqi":
        by_mn = {s.mn: s.id for s in stations}
        for a in await station_daily_aqi(db, settings, at, selection):
            if a.result.aqi is not None and a.key in by_mn:
                add(by_mn[a.key], float(a.result.aqi))
    elif isinstance(at, datetime):
        for hv in await hourly(db, stations, [what], at, at + timedelta(hours=1)):
            if hv.valid and hv.value is not None:
                add(hv.station_id, hv.value)
    else:
        for dv in await daily(db, stations, [what], at, at + timedelta(days=1)):
            if dv.valid and dv.value is not None:
                add(dv.station_id, dv.value)
    return points


def surface(
    settings: AggregatesConfig,
    points: Sequence[tuple[float, float, float]],
    what: str,
    at: date | datetime,
    bbox: tuple[float, float, float, float],
    cell: float,
) -> dict[str, Any]:
    """The IDW surface of ``points`` with the settings' power and distance cut-off, coloured
    by the AQI levels of the day when ``what`` is ``"aqi"``."""
    levels = None
    properties: dict[str, Any] = {
        "what": what,
        "at": at.isoformat(),
        "hourly": isinstance(at, datetime),
    }
    if what == "aqi":  # the HJ 633 table of the data's own local day, named in the layer
        day = at.astimezone(local_tz(settings)).date() if isinstance(at, datetime) else at
        table = registry_for(settings).aqi_table(day)
        levels, properties["standard"] = table.levels, table.code
    return idw_geojson(
        points,
        bbox,
        cell,
        power=settings.aggregates.idw_power,
        max_distance_km=settings.aggregates.idw_max_distance_km or None,
        levels=levels,
        properties=properties,
    )


async def idw_grid(
    db: Db,
    settings: AggregatesConfig,
    what: str,
    bbox: tuple[float, float, float, float],
    cell: float,
    at: date | datetime,
    *,
    selection: Selection | None = None,
) -> dict[str, Any]:
    """Inverse-distance-weighted surface of ``what`` (``"aqi"`` or a factor code) over
    ``bbox`` = (min_lon, min_lat, max_lon, max_lat) in cells of ``cell`` degrees, as a
    GeoJSON FeatureCollection of cell polygons (``value``, ``color`` for AQI).

    ``at``: a local day (daily AQI / daily mean) or an aware hour start (hourly AQI / the
    hourly value)."""
    points = await station_points(db, settings, what, at, selection)
    return surface(settings, points, what, at, bbox, cell)
