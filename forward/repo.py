"""Targets in the database: add, remove, list, status (shared by the CLI, the admin page
and the forwarder).  Passwords and SM4 keys are sealed with :mod:`store.secretbox` before
they are stored and opened only by :func:`load_targets`; nothing returned by
:func:`list_targets` or :func:`target_status` holds them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Final

import asyncpg

from protocol.sm4 import parse_key
from store.secretbox import SecretBox, SecretBoxError

from . import queries
from .targets import ForwardError, Target, TargetSpec

__all__ = [
    "FORWARD_PASSWORD",
    "FORWARD_SM4_KEY",
    "add_target",
    "list_targets",
    "load_targets",
    "remove_target",
    "target_status",
]

log = logging.getLogger(__name__)

#: Sealing purposes of a target's secrets (bound as associated data).
FORWARD_PASSWORD: Final = "forward.password"
FORWARD_SM4_KEY: Final = "forward.sm4_key"


async def _notify(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(queries.NOTIFY_TARGETS_SQL, queries.TARGETS_CHANNEL, name)


async def add_target(
    conn: asyncpg.Connection,
    spec: TargetSpec,
    box: SecretBox,
    *,
    created_by: str,
    since: datetime | None = None,
) -> int:
    """Store ``spec``; raises :class:`ForwardError` for an unknown MN or a taken name.
    Frames stored from now on enter its backlog; with ``since``, also those already
    stored whose DataTime is at or after it."""
    station_ids: list[int] = []
    if spec.stations:
        rows = await conn.fetch(queries.STATION_IDS_SQL, list(spec.stations))
        missing = [r["mn"] for r in rows if r["id"] is None]
        if missing:
            raise ForwardError(f"unknown station MN: {', '.join(missing[:10])} (站点不存在)")
        station_ids = [r["id"] for r in rows]
    sm4 = None if spec.sm4_key is None else box.seal(spec.sm4_key, FORWARD_SM4_KEY)
    try:
        async with conn.transaction():
            target_id: int = await conn.fetchval(
                queries.INSERT_TARGET_SQL,
                spec.name,
                spec.host,
                spec.port,
                box.seal(spec.password, FORWARD_PASSWORD),
                spec.edition,
                sm4,
                list(spec.cns),
                station_ids,
                dict(spec.mn_map),
                spec.backlog_alert_minutes,
                created_by,
            )
            if since is not None:
                await conn.execute(queries.ENQUEUE_STORED_SQL, target_id, since)
            await _notify(conn, spec.name)
    except asyncpg.UniqueViolationError:
        raise ForwardError(f"a target named {spec.name} exists (转发目标已存在)") from None
    return target_id


async def remove_target(conn: asyncpg.Connection, name: str) -> bool:
    """Remove target ``name`` and its backlog; False when there is none."""
    async with conn.transaction():
        gone = await conn.fetchval(queries.DELETE_TARGET_SQL, name)
        if gone is not None:
            await _notify(conn, name)
    return gone is not None


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, list):
            out[key] = list(value)
    return out


async def list_targets(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    """Every target, without its secrets (``has_password``, ``encrypted`` say whether set)."""
    return [_plain(r) for r in await conn.fetch(queries.LIST_TARGETS_SQL)]


async def target_status(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    """Per target: connected, backlog (frames), oldest unsent, last ack, counters, last error."""
    return [_plain(r) for r in await conn.fetch(queries.STATUS_SQL)]


async def load_targets(conn: asyncpg.Connection | asyncpg.Pool, box: SecretBox) -> list[Target]:
    """The enabled targets with their secrets opened (the forwarder only)."""
    out = []
    for r in await conn.fetch(queries.LOAD_TARGETS_SQL):
        key = r["sm4_key"]
        mn_map = r["mn_map"]
        try:
            password = box.open(r["password"], FORWARD_PASSWORD)
            sm4_key = None if key is None else parse_key(box.open(key, FORWARD_SM4_KEY))
        except (SecretBoxError, ValueError) as exc:
            log.error("forward %s: not started: %s (add the target again)", r["name"], exc)
            continue
        out.append(
            Target(
                id=r["id"],
                name=r["name"],
                host=r["host"],
                port=r["port"],
                password=password,
                edition=r["edition"],
                sm4_key=sm4_key,
                mn_map=json.loads(mn_map) if isinstance(mn_map, str) else dict(mn_map),
            )
        )
    return out
