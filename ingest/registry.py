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
from datetime import datetime

import asyncpg

from protocol.sm4 import parse_key
from store.logcontext import station_fields
from store.secretbox import SM4_KEY, STATION_PASSWORD, SecretBox, SecretBoxError

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
    #: the edition it is registered with (None: any); strict → frames of another are refused
    edition: str | None = None
    strict_edition: bool = False
    #: SM4 keys to decrypt its frames with (HJ 212-2025): the current one, then the previous
    #: one while its grace period lasts; the first one encrypts what is sent to it
    sm4_keys: tuple[bytes, ...] = ()
    #: when the current key was set (rotation is due ``ingest.sm4_rotate_days`` after)
    sm4_key_created: datetime | None = None


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
        self._fingerprint: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self._by_mn)

    def get(self, mn: str) -> Station | None:
        return self._by_mn.get(mn)

    def modbus_stations(self) -> set[str]:
        return {s.mn for s in self._by_mn.values() if s.modbus_crc}

    async def load(self, conn: asyncpg.Connection) -> int:
        # the fingerprint first: a change between the two makes the next refresh reload
        self._fingerprint = await self._fingerprint_of(conn)
        rows = await conn.fetch(queries.LOAD_STATIONS_SQL, None)
        self._by_mn = {r["mn"]: self._station(r) for r in rows}
        self._negative.clear()
        return len(self._by_mn)

    async def refresh(self, conn: asyncpg.Connection) -> bool:
        """Load again if the stations changed since the last load (True if it did)."""
        if self._fingerprint is not None and await self._fingerprint_of(conn) == self._fingerprint:
            return False
        await self.load(conn)
        return True

    @staticmethod
    async def _fingerprint_of(conn: asyncpg.Connection) -> tuple[int, int]:
        row = await conn.fetchrow(queries.REGISTRY_FINGERPRINT_SQL)
        assert row is not None
        return int(row["n"]), int(row["h"])

    def _station(self, row: asyncpg.Record) -> Station:
        return Station(
            row["id"],
            row["mn"],
            self._open(row, row["password"], STATION_PASSWORD),
            row["enabled"],
            row["modbus_crc"],
            row["registered_edition"],
            row["strict_edition"],
            self._keys(row),
            row["sm4_key_created_at"],
        )

    def _open(self, row: asyncpg.Record, stored: str, purpose: str) -> str | None:
        if self._box is None:
            return stored
        try:
            return self._box.open(stored, purpose)
        except SecretBoxError as exc:
            log.error(
                "station %s: %s; its frames are refused",
                row["mn"],
                exc,
                extra=station_fields(row["mn"]),
            )
            return None

    def _keys(self, row: asyncpg.Record) -> tuple[bytes, ...]:
        keys = []
        for column in ("sm4_key", "sm4_prev_key"):
            stored = row[column]
            if not stored:
                continue
            text = self._open(row, stored, SM4_KEY)
            try:
                keys.append(parse_key(text or ""))
            except ValueError as exc:
                log.error(
                    "station %s: %s: %s; its encrypted frames are refused",
                    row["mn"],
                    column,
                    exc,
                    extra=station_fields(row["mn"]),
                )
        return tuple(keys)

    def sm4_keys(self, mn: str) -> tuple[bytes, ...]:
        """The decoder's key lookup (``Decoder(sm4_keys=…)``)."""
        station = self._by_mn.get(mn)
        return () if station is None else station.sm4_keys

    def recently_missed(self, mn: str) -> bool:
        """True when ``mn`` was looked up and not found within the negative TTL."""
        until = self._negative.get(mn)
        return until is not None and until > time.monotonic()

    async def lookup(self, conn: asyncpg.Connection, mn: str) -> Station | None:
        """Ask the database for one MN (after a miss in memory)."""
        row = await conn.fetchrow(queries.LOAD_STATIONS_SQL, mn)
        if row is None:
            if len(self._negative) >= self._negative_max:
                self._negative.clear()
            self._negative[mn] = time.monotonic() + self._negative_ttl
            return None
        station = self._station(row)
        self._by_mn[mn] = station
        self._negative.pop(mn, None)
        return station
