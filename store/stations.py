"""The station registry: add, edit, list, approve pending MNs (shared by CLI and web)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import asyncpg

__all__ = [
    "AREA_CLASSES",
    "DEFAULT_AREA_CLASS",
    "EDITIONS",
    "SM4_KEY_GRACE",
    "STATIONS_CHANNEL",
    "STATION_FIELDS",
    "DuplicateStation",
    "StationError",
    "add_station",
    "approve_pending",
    "list_pending",
    "list_stations",
    "reject_pending",
    "set_sm4_key",
    "update_station",
]

#: ``NOTIFY`` channel telling the ingest workers to reload their registry.
STATIONS_CHANNEL: Final = "envgrid_stations"
NOTIFY_CHANGED_SQL: Final = "SELECT pg_notify($1, $2)"

#: Columns an operator may set, with their Python types.
STATION_FIELDS: Final[Mapping[str, type]] = {
    "password": str,
    "name": str,
    "st": str,
    "lat": float,
    "lon": float,
    "region": str,
    "grid_id": int,
    "expected_factors": list,
    "rtd_interval": int,
    "min_interval": int,
    "enabled": bool,
    "modbus_crc": bool,
    "address": str,
    "attrs": dict,
    "area_class": int,
    "registered_edition": str,
    "strict_edition": bool,
    "sm4_key": str,
}
#: A replaced SM4 key stays valid this long (frames the logger sent, or spooled, before it
#: switched; rotation by CN 1014 and keys set by an operator alike).
SM4_KEY_GRACE: Final = timedelta(days=7)
#: HJ 212 editions a station may be registered with (``registered_edition``).
EDITIONS: Final = ("2005", "2017", "2025")
#: GB 3095 功能区类别 (column ``area_class``): 1 一类区 (grade I limits), 2 二类区 (grade II).
AREA_CLASSES: Final[Mapping[int, str]] = {1: "一类区", 2: "二类区"}
DEFAULT_AREA_CLASS: Final = 2

INSERT_STATION_SQL: Final = """
INSERT INTO stations (mn, password, name, st, lat, lon, region, grid_id, expected_factors,
                      rtd_interval, min_interval, enabled, modbus_crc, address, attrs,
                      area_class, registered_edition, strict_edition, sm4_key,
                      sm4_key_created_at, approved_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        CASE WHEN $19::text IS NOT NULL THEN now() END, now())
RETURNING id
"""
BULK_INSERT_STATIONS_SQL: Final = """
INSERT INTO stations (mn, password, name, st, lat, lon, region, registered_edition, sm4_key,
                      sm4_key_created_at, approved_at)
SELECT m, p, n, s, la, lo, r, e, k, CASE WHEN k IS NOT NULL THEN now() END, now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[],
            $7::text[], $8::text[], $9::text[]) AS t(m, p, n, s, la, lo, r, e, k)
ON CONFLICT (mn) DO UPDATE SET password = EXCLUDED.password, name = EXCLUDED.name,
    st = EXCLUDED.st, lat = EXCLUDED.lat, lon = EXCLUDED.lon, region = EXCLUDED.region,
    registered_edition = EXCLUDED.registered_edition,
    sm4_key = COALESCE(EXCLUDED.sm4_key, stations.sm4_key),
    sm4_key_created_at = COALESCE(EXCLUDED.sm4_key_created_at, stations.sm4_key_created_at),
    updated_at = now()
"""
LIST_STATIONS_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.region, s.grid_id, s.enabled, s.edition,
       s.area_class, st.connected, st.last_data_at
FROM stations s LEFT JOIN station_state st ON st.station_id = s.id
ORDER BY s.id
LIMIT $1
"""
LIST_PENDING_SQL: Final = """
SELECT mn, st, password, edition, encrypted, peer, first_seen, last_seen, frames, pw_conflicts,
       decision
FROM pending_stations WHERE decision = 'pending' OR $1 ORDER BY last_seen DESC
"""
PENDING_PASSWORD_SQL: Final = (
    "SELECT COALESCE(password, '') FROM pending_stations WHERE mn = $1 AND decision = 'pending'"
)
APPROVE_SQL: Final = """
WITH p AS (
    DELETE FROM pending_stations WHERE mn = $1 RETURNING mn, st, password, edition
)
INSERT INTO stations (mn, password, name, st, edition, approved_at)
SELECT mn, COALESCE($2, password, ''), COALESCE($3, mn), st, edition, now() FROM p
ON CONFLICT (mn) DO NOTHING
RETURNING id
"""
REJECT_SQL: Final = """
UPDATE pending_stations SET decision = 'rejected', decided_by = $2, decided_at = now()
WHERE mn = $1
"""
STATION_EDITION_SQL: Final = "SELECT registered_edition FROM stations WHERE mn = $1"
SET_SM4_KEY_SQL: Final = """
UPDATE stations SET
    sm4_prev_key = sm4_key,
    sm4_prev_until = CASE WHEN sm4_key IS NOT NULL THEN now() + $3::interval END,
    sm4_key = $2, sm4_key_created_at = now(), updated_at = now()
WHERE mn = $1
RETURNING id
"""
UPDATE_STATION_SQL: Final = """
UPDATE stations SET
    password = COALESCE($2, password), name = COALESCE($3, name), st = COALESCE($4, st),
    lat = COALESCE($5, lat), lon = COALESCE($6, lon), region = COALESCE($7, region),
    grid_id = COALESCE($8, grid_id), expected_factors = COALESCE($9, expected_factors),
    rtd_interval = COALESCE($10, rtd_interval), min_interval = COALESCE($11, min_interval),
    enabled = COALESCE($12, enabled), modbus_crc = COALESCE($13, modbus_crc),
    address = COALESCE($14, address), attrs = COALESCE($15, attrs),
    area_class = COALESCE($16, area_class),
    registered_edition = COALESCE($17, registered_edition),
    strict_edition = COALESCE($18, strict_edition), updated_at = now()
WHERE mn = $1
RETURNING id
"""


class StationError(ValueError):
    """The registry change is not possible (duplicate MN, unknown MN, bad value)."""


class DuplicateStation(StationError):
    """The MN is registered already."""


@dataclass(frozen=True, slots=True)
class NewStation:
    mn: str
    password: str = ""
    name: str = ""
    st: str | None = None
    lat: float | None = None
    lon: float | None = None
    region: str = ""
    #: HJ 212 edition it is registered with (None: any), and its SM4 key (HJ 212-2025;
    #: 32 hex digits or 16 characters, sealed or plain — plain values are sealed at start)
    edition: str | None = None
    sm4_key: str | None = None


async def _changed(conn: asyncpg.Connection, mn: str) -> None:
    """Tell the ingest workers (delivered at commit when inside a transaction)."""
    await conn.execute(NOTIFY_CHANGED_SQL, STATIONS_CHANNEL, mn)


def _check(values: Mapping[str, Any]) -> None:
    for key in values:
        if key not in STATION_FIELDS:
            raise StationError(f"unknown station field {key!r}; known: {', '.join(STATION_FIELDS)}")
    lat, lon = values.get("lat"), values.get("lon")
    if lat is not None and not -90 <= float(lat) <= 90:
        raise StationError(f"lat must be within -90..90 (got {lat})")
    if lon is not None and not -180 <= float(lon) <= 180:
        raise StationError(f"lon must be within -180..180 (got {lon})")
    area_class = values.get("area_class")
    if area_class is not None and (isinstance(area_class, bool) or area_class not in AREA_CLASSES):
        raise StationError(f"area_class must be 1 or 2 (一类区/二类区), not {area_class!r}")
    edition = values.get("registered_edition")
    if edition is not None and edition not in EDITIONS:
        raise StationError(f"edition must be one of {', '.join(EDITIONS)}, not {edition!r}")
    if values.get("sm4_key") and edition not in (None, "2025"):
        raise StationError(f"an SM4 key is for HJ 212-2025 stations, not {edition}")


async def add_station(conn: asyncpg.Connection, mn: str, **values: Any) -> int:
    """Register one station; returns its id."""
    if not mn or any(c in mn for c in ";,=& \r\n"):
        raise StationError(f"{mn!r} is not a usable MN")
    _check(values)
    try:
        station_id = int(
            await conn.fetchval(
                INSERT_STATION_SQL,
                mn,
                values.get("password", ""),
                values.get("name", "") or mn,
                values.get("st"),
                values.get("lat"),
                values.get("lon"),
                values.get("region", ""),
                values.get("grid_id"),
                list(values.get("expected_factors", [])),
                values.get("rtd_interval"),
                values.get("min_interval"),
                values.get("enabled", True),
                values.get("modbus_crc", False),
                values.get("address", ""),
                values.get("attrs", {}),
                values.get("area_class", DEFAULT_AREA_CLASS),
                values.get("registered_edition"),
                values.get("strict_edition", False),
                values.get("sm4_key"),
            )
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateStation(f"a station with MN {mn} is already registered") from None
    await _changed(conn, mn)
    return station_id


async def add_stations(conn: asyncpg.Connection, stations: Sequence[NewStation]) -> int:
    """Register (or update) many stations in one statement — simulated fleets, imports."""
    await conn.execute(
        BULK_INSERT_STATIONS_SQL,
        [s.mn for s in stations],
        [s.password for s in stations],
        [s.name or s.mn for s in stations],
        [s.st for s in stations],
        [s.lat for s in stations],
        [s.lon for s in stations],
        [s.region for s in stations],
        [s.edition for s in stations],
        [s.sm4_key for s in stations],
    )
    await _changed(conn, "*")
    return len(stations)


async def update_station(conn: asyncpg.Connection, mn: str, **values: Any) -> int:
    _check(values)
    if "sm4_key" in values:
        raise StationError("an SM4 key is changed with set_sm4_key (the old one keeps a grace)")
    factors = values.get("expected_factors")
    station_id = await conn.fetchval(
        UPDATE_STATION_SQL,
        mn,
        values.get("password"),
        values.get("name"),
        values.get("st"),
        values.get("lat"),
        values.get("lon"),
        values.get("region"),
        values.get("grid_id"),
        list(factors) if factors is not None else None,
        values.get("rtd_interval"),
        values.get("min_interval"),
        values.get("enabled"),
        values.get("modbus_crc"),
        values.get("address"),
        values.get("attrs"),
        values.get("area_class"),
        values.get("registered_edition"),
        values.get("strict_edition"),
    )
    if station_id is None:
        raise StationError(f"no station with MN {mn}")
    await _changed(conn, mn)
    return int(station_id)


async def set_sm4_key(
    conn: asyncpg.Connection, mn: str, sealed_key: str, grace: timedelta = SM4_KEY_GRACE
) -> int:
    """Give station ``mn`` a new SM4 key (sealed by the caller); the key it had stays valid
    for ``grace`` (frames the logger sent before it switched)."""
    edition = await conn.fetchrow(STATION_EDITION_SQL, mn)
    if edition is None:
        raise StationError(f"no station with MN {mn}")
    if edition[0] not in (None, "2025"):
        raise StationError(
            f"{mn} is registered as HJ 212-{edition[0]}: an SM4 key is for 2025 stations"
            " (set --edition 2025 first)"
        )
    station_id = await conn.fetchval(SET_SM4_KEY_SQL, mn, sealed_key, grace)
    await _changed(conn, mn)
    return int(station_id)


async def list_stations(conn: asyncpg.Connection, limit: int = 100_000) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(LIST_STATIONS_SQL, limit)]


async def list_pending(
    conn: asyncpg.Connection, *, include_rejected: bool = False
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(LIST_PENDING_SQL, include_rejected)]


async def approve_pending(
    conn: asyncpg.Connection, mn: str, *, password: str | None = None, name: str | None = None
) -> int:
    """Move a pending MN into the registry (with the password it sent, unless given); a
    station that sent no password needs one given."""
    if not password and await conn.fetchval(PENDING_PASSWORD_SQL, mn) == "":
        raise StationError(f"{mn} sent no password: approve it with one (--password / 访问密码)")
    station_id = await conn.fetchval(APPROVE_SQL, mn, password, name)
    if station_id is None:
        raise StationError(f"{mn} is not pending approval (or is already registered)")
    await _changed(conn, mn)
    return int(station_id)


async def reject_pending(conn: asyncpg.Connection, mn: str, *, by: str = "") -> None:
    result = await conn.execute(REJECT_SQL, mn, by)
    if result.endswith(" 0"):
        raise StationError(f"{mn} is not pending approval")
