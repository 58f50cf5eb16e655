"""The station registry as a worker sees it: MN → station, kept in memory.

Loaded whole at start (tens of thousands of rows, a few MB), refreshed
periodically, and looked up in the database when an unknown MN shows up (it
may have been approved a moment ago).  Unknown MNs are remembered in a
bounded negative cache so a flood of frames from one does not become a flood
of queries.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import asyncpg

from store.secretbox import STATION_PASSWORD, SecretBox, SecretBoxError

from . import queries

__all__ = ["Station", "StationRegistry"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Station:
    id: int
    mn: str
    #: the plain access password; None when its sealed value does not open with this
    #: host's key (every frame is then refused: ``password_unreadable``)
    password: str | None
    enabled: bool
    modbus_crc: bool


class StationRegistry:
    def __init__(
        self,
        *,
        box: SecretBox | None = None,
        negative_ttl: float = 30.0,
        negative_max: int = 100_000,
    ) -> None:
        self._box = box
        self._by_mn: dict[str, Station] = {}
        self._negative: dict[str, float] = {}
        self._negative_ttl = negative_ttl
        self._negative_max = negative_max

    def __len__(self) -> int:
        return len(self._by_mn)

    def get(self, mn: str) -> Station | None:
        return self._by_mn.get(mn)

    def modbus_stations(self) -> set[str]:
        return {s.mn for s in self._by_mn.values() if s.modbus_crc}

    async def load(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(queries.LOAD_STATIONS_SQL)
        self._by_mn = {r["mn"]: self._station(r) for r in rows}
        self._negative.clear()
        return len(self._by_mn)

    def _station(self, row: asyncpg.Record) -> Station:
        return Station(row["id"], row["mn"], self._open(row), row["enabled"], row["modbus_crc"])

    def _open(self, row: asyncpg.Record) -> str | None:
        stored: str = row["password"]
        if self._box is None:
            return stored
        try:
            return self._box.open(stored, STATION_PASSWORD)
        except SecretBoxError as exc:
            log.error("station %s: %s; its frames are refused", row["mn"], exc)
            return None

    def recently_missed(self, mn: str) -> bool:
        """True when ``mn`` was looked up and not found within the negative TTL."""
        until = self._negative.get(mn)
        return until is not None and until > time.monotonic()

    async def lookup(self, conn: asyncpg.Connection, mn: str) -> Station | None:
        """Ask the database for one MN (after a miss in memory)."""
        row = await conn.fetchrow(queries.LOAD_STATION_SQL, mn)
        if row is None:
            if len(self._negative) >= self._negative_max:
                self._negative.clear()
            self._negative[mn] = time.monotonic() + self._negative_ttl
            return None
        station = self._station(row)
        self._by_mn[mn] = station
        self._negative.pop(mn, None)
        return station
