"""Handlers of the map module."""

from __future__ import annotations

from datetime import UTC, date, datetime

from aiohttp import web

from aggregates.selection import QueryError, Selection
from web import context
from web.keys import HEAT_CACHE_KEY, MAP_CACHE_KEY
from web.params import opt_bool, opt_choice, opt_date, opt_float, opt_int, opt_str, opt_time
from web.responses import ApiError, json_response

from . import queries
from .document import STATUSES, map_payload
from .heat import MIN_STATIONS, HeatError, empty_layer, grid_for, heat_layer
from .heat_clip import clip_layer, outline_of
from .service import last_complete_hour


async def map_stations(request: web.Request) -> web.Response:
    q = request.query
    s = context.settings(request)
    scope = context.caller(request).scope_param
    st, region = opt_str(q, "st", max_len=4), opt_str(q, "region")
    area, status = opt_int(q, "area", minimum=1), opt_choice(q, "status", STATUSES)
    state = request.app[MAP_CACHE_KEY]
    key = (tuple(scope) if scope is not None else None, st, region, area, status)
    payload = state.recent(key, s.web.map_cache_s) if s.web.map_cache_s else None
    if payload is None:
        pool = context.pool(request)
        async with pool.acquire() as conn:
            payload = await map_payload(
                pool,
                conn,
                state,
                s,
                scope=scope,
                today=context.today(request),
                st=st,
                region=region,
                area=area,
                status=status,
                cache_key=key,
            )
    return web.Response(body=payload, content_type="application/json")


async def list_areas(request: web.Request) -> web.Response:
    q = request.query
    async with context.pool(request).acquire() as conn:
        rows = await queries.areas(
            conn,
            context.caller(request).scope_param,
            boundary=bool(opt_bool(q, "boundary")),
            level=opt_int(q, "level", minimum=1, maximum=5),
        )
    return json_response(rows)


async def list_regions(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.regions(conn, context.caller(request).scope_param)
    return json_response(rows)


async def heatmap(request: web.Request) -> web.Response:
    """IDW surface of the hourly (default: the last complete hour) or daily AQI or of one
    factor over the stations of the caller's scope: over the outline of the caller's areas
    and cut to it (web/map/heat_clip.py), or without area boundaries over the stations."""
    q = request.query
    what = opt_str(q, "what", max_len=12) or "aqi"
    if what != "aqi" and not what.isalnum():
        raise ApiError(400, "bad_parameter", "参数 what 应为 aqi 或因子编码", parameter="what")
    day = opt_date(q, "day")
    hour = opt_time(q, "hour")
    if day is not None and hour is not None:
        raise ApiError(400, "bad_parameter", "hour 与 day 只能选一个", parameter="day")
    at: date | datetime
    if day is not None:
        at = day
    elif hour is not None:
        at = hour.replace(minute=0, second=0, microsecond=0)
    else:
        at = last_complete_hour(datetime.now(UTC))
    cell = opt_float(q, "cell", minimum=0.001, maximum=1.0)
    scope = context.caller(request).scope_param
    cache = request.app[HEAT_CACHE_KEY]
    key = (tuple(scope) if scope is not None else None, what, at.isoformat(), cell)
    found = cache.get(key)
    if found is not None:
        return json_response(found)
    pool = context.pool(request)
    scope_key = ("extent", key[0])
    where = cache.get(scope_key)  # the scope's extent, shared by the frames of a play-through
    if where is None:
        async with pool.acquire() as conn:
            row = await queries.extent(conn, scope)
            ids = None if scope is None else await queries.scope_station_ids(conn, scope)
            areas = await queries.areas(conn, scope, boundary=True, level=None)
        where = {"ext": dict(row), "ids": ids, "outline": outline_of(areas)}
        cache.put(scope_key, where)
    ext, ids = where["ext"], where["ids"]
    n = 0 if ids is not None and not ids else int(ext["n"] or 0)
    if n < MIN_STATIONS:
        return json_response(empty_layer(what, at, n, n))
    try:
        outline = where["outline"]  # the surface covers the caller's areas, cut to them
        extent = (ext["min_lon"], ext["min_lat"], ext["max_lon"], ext["max_lat"])
        bbox, size = grid_for(outline.bounds if outline is not None else extent, cell)
        layer = await heat_layer(
            pool,
            context.settings(request),
            what=what,
            at=at,
            selection=None if ids is None else Selection(station_ids=tuple(ids)),
            n_stations=n,
            bbox=bbox,
            cell=size,
        )
    except (HeatError, QueryError, ValueError) as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from None
    layer = clip_layer(layer, where["outline"])
    cache.put(key, layer)
    return json_response(layer)
