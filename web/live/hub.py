"""Live updates: committed readings and alert transitions pushed to browsers (SSE).

Theory of operation
-------------------
One :class:`LiveHub` per web process holds ONE dedicated database connection that
LISTENs on ``envgrid_readings`` (``store.feed``: the ingest writer notifies at commit)
and ``envgrid_alerts`` (the alert engine: payload ``"<alert_id>:<state>"``).  Readings
are buffered and flushed every ``web.live_interval_s`` as one ``readings`` event per
subscriber, holding only the stations in that subscriber's data scope (the set of
station ids is computed by ``envgrid_scope_stations()`` when the stream opens) and, for
the station page, only the station asked for.  Alert transitions become ``alert``
events for subscribers allowed ``alerts:read`` whose scope holds the alert — its station
(``alerts.station_id``), or for the grouped alerts without a station (``offline_mass``)
its region (``alerts.region``, matched against the codes and names of the scope's areas)
or grid (``alerts.grid_id``); the event carries the alert's rule, severity and state.
``envgrid_registry`` (migration 0031: stations or areas changed) calls the
``on_registry`` callbacks (the map's station cache), as does every reconnect.

Each subscriber has a bounded queue; a client too slow to keep up is disconnected
(its browser's EventSource reconnects and the page re-reads the current state).  If the
LISTEN connection drops, the hub reconnects with backoff and sends a ``resync`` event so
pages reload their data.  On shutdown every stream is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Final

import asyncpg
from aiohttp import web

from store.db import connect
from store.feed import READINGS_CHANNEL, FeedFormatError, decode_columns
from web.responses import dumps

__all__ = ["ALERTS_CHANNEL", "REGISTRY_CHANNEL", "LiveHub", "Subscriber", "sse_event"]

log = logging.getLogger("envgrid.web.live")

ALERTS_CHANNEL: Final = "envgrid_alerts"
FACTOR_CODES_SQL: Final = "SELECT id, code FROM factors"
SCOPE_STATIONS_SQL: Final = "SELECT envgrid_scope_stations($1::int[]) AS id"
SCOPE_AREAS_SQL: Final = "SELECT id, code, name FROM envgrid_scope_areas($1::int[])"
ALERT_SCOPE_SQL: Final = """
SELECT station_id, region, grid_id, rule, severity, state FROM alerts WHERE id = $1
"""
REGISTRY_CHANNEL: Final = "envgrid_registry"
_QUEUE_SIZE: Final = 256
_CLOSE: Final = b""


def sse_event(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + dumps(data) + b"\n\n"


@dataclass(eq=False, slots=True)
class Subscriber:
    #: None: every station; else the station ids this stream may carry.
    stations: frozenset[int] | None
    alerts: bool
    #: codes and names, and ids, of the scope's areas (grouped alerts without a station)
    regions: frozenset[str] = frozenset()
    areas: frozenset[int] = frozenset()
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(_QUEUE_SIZE))
    dropped: bool = False

    def offer(self, message: bytes) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(_CLOSE)


@dataclass(slots=True)
class LiveHub:
    dsn: str
    interval_s: float = 1.0
    subscribers: set[Subscriber] = field(default_factory=set)
    _buffer: list[tuple[int, int, str, float, float, str | None]] = field(default_factory=list)
    _codes: dict[int, str] = field(default_factory=dict)
    _conn: asyncpg.Connection | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _alerts: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _closed: bool = False
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    sent_events: int = 0
    #: called (with the table name) when stations or areas change, and on reconnects
    on_registry: list[Callable[[str], None]] = field(default_factory=list)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="live-listen"),
            asyncio.create_task(self._flush_loop(), name="live-flush"),
            asyncio.create_task(self._alert_loop(), name="live-alerts"),
        ]

    async def close(self) -> None:
        self._closed = True
        for sub in list(self.subscribers):
            sub.offer(_CLOSE)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._drop_conn()

    async def _drop_conn(self) -> None:
        conn, self._conn = self._conn, None
        self.connected.clear()
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    # -- the LISTEN connection -------------------------------------------------------------
    async def _listen(self) -> None:
        delay = 1.0
        first = True
        while not self._closed:
            try:
                conn = await connect(self.dsn, application_name="envgrid-web-live")
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, ev=lost: ev.set())
                self._codes = {r["id"]: r["code"] for r in await conn.fetch(FACTOR_CODES_SQL)}
                await conn.add_listener(READINGS_CHANNEL, self._on_readings)
                await conn.add_listener(ALERTS_CHANNEL, self._on_alert)
                await conn.add_listener(REGISTRY_CHANNEL, self._on_registry)
                self._conn = conn
                self.connected.set()
                if not first:
                    self._registry_changed("reconnect")
                    self._broadcast(sse_event("resync", {}), alerts_only=False)
                first, delay = False, 1.0
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live updates: database connection failed (%s); retrying", exc)
            await self._drop_conn()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _on_readings(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            c = decode_columns(payload)
        except FeedFormatError as exc:
            log.warning("live updates: readings payload skipped: %s", exc)
            return
        self._buffer.extend(
            zip(c.stations, c.factors, repeat(c.kind), c.ts, c.values, c.flags, strict=False)
        )

    def _on_alert(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self._alerts.put_nowait(payload)

    def _on_registry(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self._registry_changed(payload)

    def _registry_changed(self, what: str) -> None:
        for callback in self.on_registry:
            try:
                callback(what)
            except Exception:  # one consumer's bug must not stop the others
                log.exception("registry-change callback failed")

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if self._buffer:
                await self.flush()

    async def flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if any(fid not in self._codes for _, fid, *_ in batch) and self._conn is not None:
            with contextlib.suppress(Exception):
                rows = await self._conn.fetch(FACTOR_CODES_SQL)
                self._codes = {r["id"]: r["code"] for r in rows}
        items = [
            (sid, self._codes.get(fid, str(fid)), kind, ts, value, flag)
            for sid, fid, kind, ts, value, flag in batch
        ]
        now = time.time()
        for sub in list(self.subscribers):
            chosen = items if sub.stations is None else [i for i in items if i[0] in sub.stations]
            if chosen:
                sub.offer(sse_event("readings", {"t": now, "items": chosen}))
                self.sent_events += 1

    async def _alert_loop(self) -> None:
        while True:
            payload = await self._alerts.get()
            alert_id, _, state = payload.partition(":")
            row = await self._alert_scope(alert_id)
            station = None if row is None else row["station_id"]
            region = "" if row is None else row["region"]
            grid = None if row is None else row["grid_id"]
            message = sse_event(
                "alert",
                {
                    "id": int(alert_id) if alert_id.isascii() and alert_id.isdigit() else alert_id,
                    "state": state,
                    "station_id": station,
                    "region": region,
                    "grid_id": grid,
                    "rule": None if row is None else row["rule"],
                    "severity": None if row is None else row["severity"],
                },
            )
            for sub in list(self.subscribers):
                if sub.alerts and _alert_in_scope(sub, station, region, grid):
                    sub.offer(message)

    async def _alert_scope(self, alert_id: str) -> asyncpg.Record | None:
        if self._conn is None or not (alert_id.isascii() and alert_id.isdigit()):
            return None
        try:
            return await self._conn.fetchrow(ALERT_SCOPE_SQL, int(alert_id))
        except (asyncpg.PostgresError, OSError):
            return None

    def _broadcast(self, message: bytes, *, alerts_only: bool) -> None:
        for sub in list(self.subscribers):
            if sub.alerts or not alerts_only:
                sub.offer(message)

    # -- subscribers -----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        stations: frozenset[int] | None,
        *,
        alerts: bool,
        regions: frozenset[str] = frozenset(),
        areas: frozenset[int] = frozenset(),
    ) -> AsyncIterator[Subscriber]:
        sub = Subscriber(stations, alerts, regions, areas)
        if self._closed:
            sub.offer(_CLOSE)
        self.subscribers.add(sub)
        try:
            yield sub
        finally:
            self.subscribers.discard(sub)


def _alert_in_scope(sub: Subscriber, station: int | None, region: str, grid: int | None) -> bool:
    if sub.stations is None:
        return True
    if station is not None:
        return station in sub.stations
    return (bool(region) and region in sub.regions) or (grid is not None and grid in sub.areas)


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


CLOSE_MESSAGE: Final = _CLOSE


_HEARTBEAT_S: Final = 15.0


async def stream(request: web.Request) -> web.StreamResponse:
    """``GET /api/v1/live[?station=ID]``: the event stream of the caller's scope."""
    from web import context
    from web.keys import LIVE_KEY
    from web.params import opt_int
    from web.responses import ApiError

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
    async with hub.subscribe(
        allowed, alerts=user.can("alerts:read"), regions=regions, areas=areas
    ) as sub:
        await response.write(b"retry: 3000\n" + sse_event("hello", {"user": user.username}))
        while True:
            try:
                message = await asyncio.wait_for(sub.queue.get(), _HEARTBEAT_S)
            except TimeoutError:
                message = b": ping\n\n"
            if message == _CLOSE:
                break
            try:
                await response.write(message)
            except (ConnectionResetError, RuntimeError):
                break
    return response
