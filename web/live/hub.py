"""The live hub: the fan-out of readings and alert transitions to SSE subscribers.

Plain logic (no database, no aiohttp): :mod:`web.live.feed` publishes into it, the
stream handler (:mod:`web.live.stream`) subscribes.  Each subscriber has a data scope
and a bounded queue of encoded events:

* ``readings`` events carry only the stations in the subscriber's scope (``stations``:
  None for every station) and, for the station page, only the station asked for;
* ``alert`` events go to subscribers allowed ``alerts:read`` whose scope holds the
  alert — its station, or for the grouped alerts without a station (``offline_mass``)
  its region (matched against the codes and names of the scope's areas) or grid;
* ``resync`` (after the feed reconnected) goes to every subscriber.

A client too slow to keep up is disconnected: when its queue is full, the oldest event
makes room for the end-of-stream marker (its browser's EventSource reconnects and the
page re-reads the current state).  On close every stream is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from web.responses import dumps

__all__ = ["CLOSE_MESSAGE", "LiveHub", "Reading", "Subscriber", "sse_event"]

_QUEUE_SIZE: Final = 256
#: The end-of-stream marker in a subscriber's queue.
CLOSE_MESSAGE: Final = b""

#: One reading as sent: (station id, factor code, data kind, time, value, flag).
Reading = tuple[int, str, str, float, float, str | None]


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
    #: SHA-256 of the session or API token the stream was opened with (see :meth:`end`).
    credential: bytes = b""

    def offer(self, message: bytes) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(CLOSE_MESSAGE)

    def holds_alert(self, station: int | None, region: str, grid: int | None) -> bool:
        if self.stations is None:
            return True
        if station is not None:
            return station in self.stations
        return (bool(region) and region in self.regions) or (
            grid is not None and grid in self.areas
        )


@dataclass(slots=True)
class LiveHub:
    subscribers: set[Subscriber] = field(default_factory=set)
    closed: bool = False

    def publish_readings(self, items: Sequence[Reading], now: float | None = None) -> None:
        """One ``readings`` event per subscriber with the items of its scope."""
        t = time.time() if now is None else now
        for sub in list(self.subscribers):
            chosen = items if sub.stations is None else [i for i in items if i[0] in sub.stations]
            if chosen:
                sub.offer(sse_event("readings", {"t": t, "items": chosen}))

    def publish_alert(self, alert_id: str, state: str, row: Mapping[str, Any] | None) -> None:
        """An ``alert`` event (``row``: the alert's scope and rule, None when unknown) to
        the subscribers allowed alerts whose scope holds it."""
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
            if sub.alerts and sub.holds_alert(station, region, grid):
                sub.offer(message)

    def resync(self) -> None:
        """Every page reloads its data (the feed missed notifications)."""
        message = sse_event("resync", {})
        for sub in list(self.subscribers):
            sub.offer(message)

    def end(self, credential: bytes) -> int:
        """End the streams opened with ``credential`` (a log-out); returns how many."""
        ended = [sub for sub in list(self.subscribers) if sub.credential == credential]
        for sub in ended:
            sub.offer(CLOSE_MESSAGE)
        return len(ended)

    def close(self) -> None:
        """End every stream (and those opened later)."""
        self.closed = True
        for sub in list(self.subscribers):
            sub.offer(CLOSE_MESSAGE)

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        stations: frozenset[int] | None,
        *,
        alerts: bool,
        regions: frozenset[str] = frozenset(),
        areas: frozenset[int] = frozenset(),
        credential: bytes = b"",
    ) -> AsyncIterator[Subscriber]:
        sub = Subscriber(stations, alerts, regions, areas, credential=credential)
        if self.closed:
            sub.offer(CLOSE_MESSAGE)
        self.subscribers.add(sub)
        try:
            yield sub
        finally:
            self.subscribers.discard(sub)
