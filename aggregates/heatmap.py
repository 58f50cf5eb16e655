"""The heat map: an inverse-distance-weighted surface of AQI or a factor over the stations'
values of one day or hour (the pure geometry is :mod:`aggregates.spatial`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from aggregates.aqi_series import hourly_aqi_at, station_daily_aqi
from aggregates.official import daily, hourly
from aggregates.selection import Db, Selection, local_tz, registry_for, select_stations
from aggregates.spatial import idw_geojson
from store.settings import Settings

__all__ = ["idw_grid"]


async def idw_grid(
    db: Db,
    settings: Settings,
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
    stations = [s for s in await select_stations(db, selection) if s.lat is not None]
    points: list[tuple[float, float, float]] = []
    hourly_mode = isinstance(at, datetime)
    if what == "aqi":
        if isinstance(at, datetime):
            for s, res in await hourly_aqi_at(db, settings, at, selection):
                if res.aqi is not None and s.lat is not None and s.lon is not None:
                    points.append((s.lon, s.lat, float(res.aqi)))
        else:
            for a in await station_daily_aqi(db, settings, at, selection):
                st = next(s for s in stations if s.mn == a.key)
                if a.result.aqi is not None and st.lon is not None and st.lat is not None:
                    points.append((st.lon, st.lat, float(a.result.aqi)))
    else:
        by_id = {s.id: s for s in stations}
        if isinstance(at, datetime):
            for hv in await hourly(db, stations, [what], at, at + timedelta(hours=1)):
                st = by_id[hv.station_id]
                if hv.valid and hv.value is not None and st.lon is not None and st.lat is not None:
                    points.append((st.lon, st.lat, hv.value))
        else:
            for dv in await daily(db, stations, [what], at, at + timedelta(days=1)):
                st = by_id[dv.station_id]
                if dv.valid and dv.value is not None and st.lon is not None and st.lat is not None:
                    points.append((st.lon, st.lat, dv.value))
    levels = None
    if what == "aqi":
        day = at.astimezone(local_tz(settings)).date() if isinstance(at, datetime) else at
        levels = registry_for(settings).aqi_table(day).levels
    return idw_geojson(
        points,
        bbox,
        cell,
        power=settings.aggregates.idw_power,
        max_distance_km=settings.aggregates.idw_max_distance_km or None,
        levels=levels,
        properties={"what": what, "at": at.isoformat(), "hourly": hourly_mode},
    )
