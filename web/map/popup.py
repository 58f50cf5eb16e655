"""The map popup's values of one station: per factor (name and unit, code kept for the
tooltip) the latest real-time value ("now"), the last complete hour's official value
(1 h), the mean of the 24 valid hours ending with it (24 h) and the mean of that hour's
local day so far (daily mean), with the hours each mean is made of.

One read of ``station_state`` (the station page's query, which also applies the caller's
data scope: another scope's station is "not found") and one of ``hourly_values``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from web import context
from web.params import path_int
from web.responses import ApiError, json_response
from web.stations import queries as station_queries
from web.stations.service import factor_info, latest_view

from . import queries
from .service import last_complete_hour

__all__ = ["station_values", "values_view"]


def values_view(
    latest: list[dict[str, Any]], hourly: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The popup rows: factors with a value in any column, in the station's order."""
    out = []
    for f in latest:
        h = hourly.get(f["code"], {})
        if f["value"] is None and not h:
            continue
        out.append(
            {
                "code": f["code"],
                "name": f["name"],
                "unit": f["unit"],
                "now": f["value"],
                "flag": f["flag"],
                "flag_label": f["flag_label"],
                "over_limit": f["over_limit"],
                "h1": h.get("h1"),
                "h24": h.get("h24"),
                "n24": h.get("n24", 0),
                "day_mean": h.get("day_mean"),
                "n_day": h.get("n_day", 0),
            }
        )
    return out


async def station_values(request: web.Request) -> web.Response:
    settings = context.settings(request)
    tz = ZoneInfo(settings.core.timezone)
    hour = last_complete_hour(datetime.now(UTC))
    day_start = hour.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    async with context.pool(request).acquire() as conn:
        station = await station_queries.station(
            conn,
            path_int(request),
            context.caller(request).scope_param,
            settings.web.online_window_s,
        )
        if station is None:
            raise ApiError(404, "not_found", "站点不存在或不在您的数据范围内")
        db_factors = {f["code"]: f for f in await station_queries.factors(conn)}
        hourly = await queries.station_values(conn, station["id"], hour, day_start)
    latest = station.pop("latest") or {}
    codes = list(dict.fromkeys([*station["expected_factors"], *sorted(latest), *sorted(hourly)]))
    factors = factor_info(codes, station, db_factors, context.today(request))
    rows = values_view(latest_view({**station, "latest": latest}, factors), hourly)
    return json_response(
        {
            "id": station["id"],
            "hour": hour,
            "day": day_start.date(),
            "last_data_time": station.get("last_data_time"),
            "factors": rows,
        }
    )
