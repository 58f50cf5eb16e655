"""HJ 212-2025 data loggers without an MN (CN 1001) and their MN assignment (CN 1002).

A logger announces ``i23005-Info`` (logger id), ``i23006-Info`` (CPU ID) and its MACs
with an empty header MN; the ingest worker keeps them in ``pending_loggers``.  An
operator (CLI ``envgrid station assign``, the dashboard) assigns an MN: in one
transaction the station is registered under that MN as an HJ 212-2025 station, CN 1002
(``MN=<assigned>`` in the head, ``CP=&&i23005-Info=<logger id>&&``) is queued for it, and
the logger's row is marked assigned.  The worker that holds the logger's connection sends
the 1002 there (the logger has no session under the new MN yet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import asyncpg

from protocol.identity import ASSIGN_CN

from .commands import queue_command
from .stations import StationError, add_station

__all__ = [
    "LOGGER_ID",
    "MN_2025",
    "Assignment",
    "assign_logger",
    "list_loggers",
    "reject_logger",
]

#: a logger id as :mod:`protocol.identity` accepts it (i23005-Info)
LOGGER_ID: Final = re.compile(r"[0-9A-Za-z_-]{1,32}")
#: HJ 212-2025 table 3: the MN (数采仪入网编码) is 24 characters of 0-9 A-F.
MN_2025: Final = re.compile(r"[0-9A-F]{24}")

LIST_LOGGERS_SQL: Final = """
SELECT logger_id, cpu_id, mac1, mac2, st, password IS NOT NULL AND password <> '' AS has_password,
       peer, first_seen, last_seen, frames, last_raw, identity_conflicts, decision, assigned_mn,
       station_id, command_id, decided_by, decided_at
FROM pending_loggers
WHERE decision = 'pending' OR $1
ORDER BY last_seen DESC
LIMIT $2
"""
LOCK_LOGGER_SQL: Final = """
SELECT logger_id, cpu_id, mac1, mac2, st, password, decision
FROM pending_loggers WHERE logger_id = $1 FOR UPDATE
"""
ASSIGNED_SQL: Final = """
UPDATE pending_loggers SET decision = 'assigned', assigned_mn = $2, station_id = $3,
    command_id = $4, decided_by = $5, decided_at = now()
WHERE logger_id = $1
"""
REJECT_LOGGER_SQL: Final = """
UPDATE pending_loggers SET decision = 'rejected', decided_by = $2, decided_at = now()
WHERE logger_id = $1 AND decision = 'pending'
"""


@dataclass(frozen=True, slots=True)
class Assignment:
    logger_id: str
    mn: str
    station_id: int
    command_id: int


async def list_loggers(
    conn: asyncpg.Connection, *, include_decided: bool = False, limit: int = 1000
) -> list[dict[str, Any]]:
    """Loggers waiting for an MN (newest first); the password only as ``has_password``."""
    return [dict(r) for r in await conn.fetch(LIST_LOGGERS_SQL, include_decided, limit)]


async def assign_logger(
    conn: asyncpg.Connection,
    logger_id: str,
    *,
    mn: str,
    password: str | None = None,
    name: str | None = None,
    st: str | None = None,
    sm4_key: str | None = None,
    created_by: str = "",
    timeout_s: float = 7 * 86400.0,
    tz: str = "Asia/Shanghai",
) -> Assignment:
    """Register pending logger ``logger_id`` as station ``mn`` and queue CN 1002 for it.

    ``password`` and ``sm4_key`` come sealed (``store.secretbox``) as the station registry
    stores them; without ``password`` the one the logger sent with its 1001 is kept.  The
    1002 waits up to ``timeout_s`` (default a week) for the logger to connect."""
    if MN_2025.fullmatch(mn) is None:
        raise StationError(f"{mn!r}: an HJ 212-2025 MN is 24 characters 0-9 A-F")
    async with conn.transaction():
        row = await conn.fetchrow(LOCK_LOGGER_SQL, logger_id)
        if row is None or row["decision"] != "pending":
            raise StationError(f"logger {logger_id!r} is not waiting for an MN")
        password = password or row["password"]
        if not password:
            raise StationError(f"logger {logger_id} sent no password: assign one (--password)")
        station_id = await add_station(
            conn,
            mn,
            password=password,
            name=name or mn,
            st=st or row["st"],
            registered_edition="2025",
            sm4_key=sm4_key,
            attrs={
                "logger_id": logger_id,
                "cpu_id": row["cpu_id"],
                "mac1": row["mac1"],
                "mac2": row["mac2"],
            },
        )
        command_id = await queue_command(
            conn,
            mn=mn,
            cn=ASSIGN_CN,
            params={"i23005-Info": logger_id},
            created_by=created_by,
            timeout_s=timeout_s,
            tz=tz,
        )
        await conn.execute(ASSIGNED_SQL, logger_id, mn, station_id, command_id, created_by)
    return Assignment(logger_id, mn, station_id, command_id)


async def reject_logger(conn: asyncpg.Connection, logger_id: str, *, by: str = "") -> None:
    result = await conn.execute(REJECT_LOGGER_SQL, logger_id, by)
    if result.endswith(" 0"):
        raise StationError(f"logger {logger_id!r} is not waiting for an MN")
