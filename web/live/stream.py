"""The aiohttp side of live updates: the cleanup context that runs the hub and its feed,
and the event stream ``GET /api/v1/live[?station=ID]``.

A stream lives no longer than the credential it was opened with: a log-out in this process
ends the session's streams at once (:meth:`LiveHub.end`), and at every heartbeat the stream
checks that its session or token still stands (log-out elsewhere, password change, revoked
or expired token, disabled account)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Final

import asyncpg
from aiohttp import web

from web import context
from web.auth.service import digest, session_principal, token_principal
from web.keys import DSN_KEY, LIVE_KEY, MAP_CACHE_KEY, SETTINGS_KEY
from web.params import opt_int
from web.responses import ApiError

from .feed import LiveFeed
from .hub import CLOSE_MESSAGE, LiveHub, sse_event

__all__ = ["end_streams", "live_context", "stream"]

SCOPE_STATIONS_SQL: Final = "SELECT envgrid_scope_stations($1::int[]) AS id"
SCOPE_AREAS_SQL: Final = "SELECT id, code, name FROM envgrid_scope_areas($1::int[])"
_HEARTBEAT_S: Final = 15.0
#: How long the web app's start waits for the live feed's LISTEN connection.
_LISTEN_WAIT_S: Final = 10.0

log = logging.getLogger("envgrid.web.live")


async def live_context(app: web.Application) -> AsyncIterator[None]:
    """The hub (``app[LIVE_KEY]``) and its feed's LISTEN connection."""
    hub = LiveHub()
    feed = LiveFeed(app[DSN_KEY], hub, app[SETTINGS_KEY].web.live_interval_s)
    # registry changes (NOTIFY envgrid_registry) and reconnects rebuild the map's facts
    feed.on_registry.append(app[MAP_CACHE_KEY].invalidate)
    app[LIVE_KEY] = hub
    await feed.start()
    # no stream may say "hello" before the LISTEN is in place: a reading NOTIFYed in between
    # would never reach it (after a reconnect the hub tells every stream to resync instead)
    try:
        await asyncio.wait_for(feed.connected.wait(), _LISTEN_WAIT_S)
    except TimeoutError:
        log.warning(
            "live updates: no LISTEN connection after %.0f s; starting without it", _LISTEN_WAIT_S
        )
    yield
    hub.close()
    await feed.close()
    await app[MAP_CACHE_KEY].close()


async def end_streams(app: web.Application) -> None:
    """On shutdown, end the live streams first so handlers return promptly."""
    if LIVE_KEY in app:
        app[LIVE_KEY].close()


async def scope_stations(conn: asyncpg.Connection, scope: list[int]) -> frozenset[int]:
    return frozenset(r["id"] for r in await conn.fetch(SCOPE_STATIONS_SQL, scope))


async def scope_areas(
    conn: asyncpg.Connection, scope: list[int]
) -> tuple[frozenset[str], frozenset[int]]:
    rows = await conn.fetch(SCOPE_AREAS_SQL, scope)
    return (
        frozenset(r["code"] for r in rows) | frozenset(r["name"] for r in rows),
        frozenset(r["id"] for r in rows),
    )


def _credential(request: web.Request) -> str:
    """The session cookie or the bearer token the request was authenticated with."""
    header = request.headers.get("Authorization", "")
    if header:
        return header.partition(" ")[2].strip()
    return request.cookies.get(context.settings(request).web.cookie_name, "")


async def _still_valid(request: web.Request, token: str, via: str) -> bool:
    """Whether the stream's session or token still stands (checked at every heartbeat)."""
    settings = context.settings(request).web
    async with context.pool(request).acquire() as conn:
        if via == "token":
            return await token_principal(conn, settings, token) is not None
        return await session_principal(conn, settings, token) is not None


async def stream(request: web.Request) -> web.StreamResponse:
    """``GET /api/v1/live[?station=ID]``: the event stream of the caller's scope."""
    user = context.caller(request)
    station = opt_int(request.query, "station", minimum=1)
    regions: frozenset[str] = frozenset()
    areas: frozenset[int] = frozenset()
    async with context.pool(request).acquire() as conn:
        allowed = None if user.scope is None else await scope_stations(conn, list(user.scope))
        if user.scope is not None and station is None:
            regions, areas = await scope_areas(conn, list(user.scope))
    if station is not None:
        if allowed is not None and station not in allowed:
            raise ApiError(404, "not_found", "站点不存在或不在您的数据范围内")
        allowed = frozenset({station})
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    hub = request.app[LIVE_KEY]
    token = _credential(request)
    async with hub.subscribe(
        allowed,
        alerts=user.can("alerts:read"),
        regions=regions,
        areas=areas,
        credential=digest(token),
    ) as sub:
        await response.write(b"retry: 3000\n" + sse_event("hello", {"user": user.username}))
        while True:
            try:
                message = await asyncio.wait_for(sub.queue.get(), _HEARTBEAT_S)
            except TimeoutError:
                if not await _still_valid(request, token, user.via):
                    break  # logged out elsewhere, password changed, token revoked, expired
                message = b": ping\n\n"
            if message == CLOSE_MESSAGE:
                break
            try:
                await response.write(message)
            except (ConnectionResetError, RuntimeError):
                break
    return response
