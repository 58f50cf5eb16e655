"""The live feed: ONE dedicated database connection per web process that LISTENs and
publishes into the :class:`~web.live.hub.LiveHub`.

Theory of operation
-------------------
The connection LISTENs on ``envgrid_readings`` (``store.feed``: the ingest writer
notifies at commit), ``envgrid_alerts`` (the alert engine: payload
``"<alert_id>:<state>"``) and ``envgrid_registry`` (migration 0031: stations or areas
changed).  Readings are buffered and flushed every ``web.live_interval_s`` as one
publication (factor ids become codes); an alert transition is published with the
alert's scope and rule, read from ``alerts``.  ``envgrid_registry`` calls the
``on_registry`` callbacks (the map's station cache), as does every (re)connect — a
change made before the LISTEN took effect would otherwise go unheard.  If the
connection drops, the feed reconnects with backoff and the hub sends ``resync`` so
pages reload their data.

The three tasks (LISTEN set-up, flush, alert lookups) take turns on the one connection
(``_lock``): asyncpg runs one operation at a time, and a second one started meanwhile fails.
A failed lookup publishes the alert without its scope (only unscoped streams get it); a
notification that names no alert is logged and skipped; neither ends the alert task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Final

import asyncpg

from store.db import connect
from store.feed import READINGS_CHANNEL, FeedFormatError, decode_columns

from .hub import LiveHub

__all__ = ["ALERTS_CHANNEL", "REGISTRY_CHANNEL", "LiveFeed"]

log = logging.getLogger("envgrid.web.live")

ALERTS_CHANNEL: Final = "envgrid_alerts"
REGISTRY_CHANNEL: Final = "envgrid_registry"
FACTOR_CODES_SQL: Final = "SELECT id, code FROM factors"
ALERT_SCOPE_SQL: Final = """
SELECT station_id, region, grid_id, rule, severity, state FROM alerts WHERE id = $1
"""


@dataclass(slots=True)
class LiveFeed:
    dsn: str
    hub: LiveHub
    interval_s: float = 1.0
    #: called (with the table name) when stations or areas change, and on reconnects
    on_registry: list[Callable[[str], None]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _buffer: list[tuple[int, int, str, float, float, str | None]] = field(default_factory=list)
    _codes: dict[int, str] = field(default_factory=dict)
    _conn: asyncpg.Connection | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _alerts: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _closed: bool = False

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="live-listen"),
            asyncio.create_task(self._flush_loop(), name="live-flush"),
            asyncio.create_task(self._alert_loop(), name="live-alerts"),
        ]

    async def close(self) -> None:
        self._closed = True
        for task in self._tasks:
            task.cancel()
        try:
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
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
                # held at once, so a stop (or an error) while it is set up still closes it:
                # an unclosed connection left to the garbage collector otherwise
                self._conn = conn
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, ev=lost: ev.set())
                async with self._lock:
                    rows = await conn.fetch(FACTOR_CODES_SQL)
                    self._codes = {r["id"]: r["code"] for r in rows}
                    await conn.add_listener(READINGS_CHANNEL, self._on_readings)
                    await conn.add_listener(ALERTS_CHANNEL, self._on_alert)
                    await conn.add_listener(REGISTRY_CHANNEL, self._on_registry)
                self.connected.set()
                # a change made before the LISTEN took effect was not heard: whatever was
                # built from the registry until now is rebuilt (at start-up too)
                self._registry_changed("connect" if first else "reconnect")
                # every stream open until now may have missed something: after a reconnect,
                # or at start-up when the app gave up waiting for this connection (none then)
                self.hub.resync()
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
        if any(fid not in self._codes for _, fid, *_ in batch):
            try:
                async with self._lock:
                    if self._conn is not None:
                        rows = await self._conn.fetch(FACTOR_CODES_SQL)
                        self._codes = {r["id"]: r["code"] for r in rows}
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("live updates: factor codes not re-read (%s)", exc)
        self.hub.publish_readings(
            [
                (sid, self._codes.get(fid, str(fid)), kind, ts, value, flag)
                for sid, fid, kind, ts, value, flag in batch
            ]
        )

    async def _alert_loop(self) -> None:
        while True:
            payload = await self._alerts.get()
            alert_id, _, state = payload.partition(":")
            if not _is_alert_id(alert_id):
                log.warning("live updates: alert notification skipped: %r", payload[:80])
                continue
            try:
                self.hub.publish_alert(alert_id, state, await self._alert_scope(alert_id))
            except Exception:  # one bad notification must not end live alerts
                log.exception("live updates: alert notification %r not published", payload[:80])

    async def _alert_scope(self, alert_id: str) -> asyncpg.Record | None:
        try:
            async with self._lock:
                if self._conn is None:
                    return None
                return await self._conn.fetchrow(ALERT_SCOPE_SQL, int(alert_id))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("live updates: scope of alert %s not read (%s)", alert_id, exc)
            return None


def _is_alert_id(text: str) -> bool:
    """An ``alerts.id``: a bigint's digits."""
    return text.isascii() and text.isdigit() and int(text) < 2**63
