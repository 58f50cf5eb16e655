"""The load on a server under test: simulated stations put in its registry, a load
generator running in a thread, and waits on the server's gauges.

Stations of a fleet with HJ 212-2025 stations (``edition`` 2025 or a mix) are registered
with their edition (``stations.registered_edition``) and their SM4 key
(``stations.sm4_key``, 32 hex digits: the same key the simulator derives from the seed and
MN; plain here, as ``envgrid station import`` of ``--list-stations`` would store it — the
server opens plain values as they are and seals them at its next start), so the server
decrypts what they send.  The ingest workers take the keys when they
reload the registry (on the NOTIFY at commit); the decoder looks keys up in the loaded
registry only (an unknown MN's *plain* frame is looked up in the database, an encrypted
one is refused ``sm4_no_key`` and not acked), so registering a keyed fleet waits
:data:`KEY_RELOAD_S` before the load starts.

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
from simulators.editions import editions_of, parse_edition_mix
from store.db import connect
from store.stations import NewStation, add_stations

from .server import ServerUnderTest, histogram_quantiles

__all__ = [
    "AQI_FACTORS",
    "SIMULATOR_SETTINGS",
    "Background",
    "Progress",
    "gauge",
    "latency_delta",
    "quiet",
    "register",
    "register_fleet",
    "simulator_settings",
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


#: ``envgrid bench … --set simulate.KEY=VALUE``: what the simulated stations of the server
#: scenarios may be told (the keyword of FleetConfig / BlastConfig each sets)
SIMULATOR_SETTINGS = {
    "edition": "edition: 2017, 2025 (2005 and mix: connections and latency only)",
    "edition_mix": "edition: a weighted mix, e.g. 2017:0.5,2025:0.5",
    "encrypt": "encrypt: true/false — 2025 stations SM4-encrypt their data",
    "heartbeat": "heartbeat: 2025 stations' 9015 after S idle simulated seconds (full simulator)",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def simulator_settings(pairs: dict[str, str]) -> dict[str, Any]:
    """``{"edition_mix": "2017:0.5,2025:0.5", "encrypt": "true"}`` (``--set simulate.…``)
    → ``{"edition": "2017:0.5,2025:0.5", "encrypt": True}``; ValueError saying what is
    wrong."""
    out: dict[str, Any] = {}
    for key, value in pairs.items():
        where = f"simulate.{key}={value}"
        if key == "edition_mix":
            mix = parse_edition_mix(value)
            out["edition"] = ",".join(f"{e}:{w:g}" for e, w in mix)
        elif key == "edition":
            editions_of(value)
            out["edition"] = value
        elif key == "encrypt":
            if value.lower() not in _TRUE | _FALSE:
                raise ValueError(f"{where}: expected true or false")
            out["encrypt"] = value.lower() in _TRUE
        elif key == "heartbeat":
            try:
                out["heartbeat"] = float(value)
            except ValueError:
                raise ValueError(f"{where}: expected seconds") from None
        else:
            known = ", ".join(f"simulate.{k}" for k in SIMULATOR_SETTINGS)
            raise ValueError(f"{where}: unknown simulator setting (known: {known})")
    return out


async def register(server: ServerUnderTest, stations: int, **fleet: Any) -> None:
    """Put the simulated stations in the server's registry (as an operator would);
    ``fleet``: the keywords of :func:`simulators.station_identities` (``seed``, ``st`` …)."""
    await _add(server, station_identities(stations, **fleet))


def register_fleet(server: ServerUnderTest, config: FleetConfig) -> None:
    """Register the stations ``config`` will simulate."""
    asyncio.run(_add(server, config.identities()))


#: seconds for the ingest workers to reload the registry after keyed stations were added
KEY_RELOAD_S = 2.0


async def _add(server: ServerUnderTest, ids: list[StationIdentity]) -> None:
    conn = await connect(server.database_dsn)
    #: a plain 2017 fleet is registered as before (no edition: any); one with other
    #: editions gets each station's edition, and the 2025 stations their SM4 keys
    editions = any(i.edition != "2017" or i.sm4_key for i in ids)
    try:
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            await add_stations(
                conn,
                [
                    NewStation(
                        i.mn,
                        i.pw,
                        i.name,
                        i.st,
                        i.lat,
                        i.lon,
                        i.region_name,
                        edition=i.edition if editions else None,
                        sm4_key=i.sm4_key,
                    )
                    for i in chunk
                ],
            )
    finally:
        await conn.close()
    if any(i.sm4_key for i in ids):
        await asyncio.sleep(KEY_RELOAD_S)


class Background(Generic[T]):
    """A load generator (``simulators.run``, ``blast``) running in a thread."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._box: list[T] = []
        self._thread = threading.Thread(target=lambda: self._box.append(work()), daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

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
