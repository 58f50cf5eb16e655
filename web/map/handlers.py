"""Handlers of the map module."""

from __future__ import annotations

from aiohttp import web

from web import context
from web.keys import MAP_CACHE_KEY
from web.params import opt_bool, opt_choice, opt_int, opt_str
from web.responses import json_response

from . import queries
from .service import STATUSES, map_payload


async def map_stations(request: web.Request) -> web.Response:
    q = request.query
    s = context.settings(request).web
    scope = context.caller(request).scope_param
    st, region = opt_str(q, "st", max_len=4), opt_str(q, "region")
    area, status = opt_int(q, "area", minimum=1), opt_choice(q, "status", STATUSES)
    cache = request.app[MAP_CACHE_KEY]
    key = (tuple(scope) if scope is not None else None, st, region, area, status)
    payload = cache.recent(key, s.map_cache_s) if s.map_cache_s else None
    if payload is None:
        async with context.pool(request).acquire() as conn:
            payload = await map_payload(
                conn,
                cache,
                scope=scope,
                online_window_s=s.online_window_s,
                today=context.today(request),
                st=st,
                region=region,
                area=area,
                status=status,
            )
        cache.remember(key, payload)
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
