"""The load on a server under test: simulated stations put in its registry, a load
generator running in a thread, and waits on the server's gauges.

Shared by the server scenarios (:mod:`bench.scenarios`) and the fault scenarios
(:mod:`bench.faults`, :mod:`bench.attacks`).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from simulators import FleetConfig, StationIdentity, station_identities
from store.db import connect
from store.stations import NewStation, add_stations

from .server import ServerUnderTest, histogram_quantiles

__all__ = [
    "AQI_FACTORS",
    "Background",
    "Progress",
    "gauge",
    "latency_delta",
    "quiet",
    "register",
    "register_fleet",
    "wait_connected",
    "wait_for",
]

#: the six AQI pollutants: a "6-factor" frame
AQI_FACTORS = ("a21026", "a21004", "a21005", "a05024", "a34002", "a34004")
LATENCY = "envgrid_commit_latency_seconds"
Progress = Callable[[str], None]
T = TypeVar("T")


def quiet(_: str) -> None:
    return None


async def register(server: ServerUnderTest, stations: int, **fleet: Any) -> None:
    """Put the simulated stations in the server's registry (as an operator would);
    ``fleet``: the keywords of :func:`simulators.station_identities` (``seed``, ``st`` …)."""
    await _add(server, station_identities(stations, **fleet))


def register_fleet(server: ServerUnderTest, config: FleetConfig) -> None:
    """Register the stations ``config`` will simulate."""
    asyncio.run(_add(server, config.identities()))


async def _add(server: ServerUnderTest, ids: list[StationIdentity]) -> None:
    conn = await connect(server.database_dsn)
    try:
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            await add_stations(
                conn,
                [NewStation(i.mn, i.pw, i.name, i.st, i.lat, i.lon, i.region_name) for i in chunk],
            )
    finally:
        await conn.close()


class Background(Generic[T]):
    """A load generator (``simulators.run``, ``blast``) running in a thread."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._box: list[T] = []
        self._thread = threading.Thread(target=lambda: self._box.append(work()), daemon=True)
        self._thread.start()

    def result(self) -> T:
        """Wait until it is done; what it returned."""
        self._thread.join()
        return self._box[0]


def gauge(metrics: str, name: str) -> float:
    """The value of the unlabelled metric ``name`` in a Prometheus scrape (0 if absent)."""
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def wait_for(check: Callable[[], bool], limit: float, every: float) -> float | None:
    """Seconds until ``check()`` held (polled every ``every`` s), None after ``limit`` s."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if check():
            return time.monotonic() - start
        time.sleep(every)
    return None


def wait_connected(
    server: ServerUnderTest, stations: int, *, timeout: float, progress: Progress
) -> float | None:
    """Seconds until ``stations`` sessions are up (None after ``timeout``)."""
    last = -1.0

    def all_up() -> bool:
        nonlocal last
        held = gauge(server.metrics(), "envgrid_station_sessions")
        if held != last:
            progress(f"  {int(held)} stations connected")
            last = held
        return held >= stations

    return wait_for(all_up, timeout, 1.0)


def latency_delta(before: str, after: str) -> dict[str, float | None]:
    """Quantiles of the latency histogram over the window between two scrapes."""
    pattern = re.compile(rf'^{LATENCY}_bucket\{{le="([^"]+)"\}} (\S+)$', re.M)
    b = dict(pattern.findall(before))
    lines = []
    for le, count in pattern.findall(after):
        lines.append(f'{LATENCY}_bucket{{le="{le}"}} {float(count) - float(b.get(le, 0))}')
    return {
        k: (round(v, 4) if v is not None else None)
        for k, v in histogram_quantiles("\n".join(lines), LATENCY).items()
    }
