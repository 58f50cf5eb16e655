"""Scheduled work of the auth module, as plain data for the one scheduler
(``store.jobs``): the hourly purge of expired sessions and of log-ins that waited for
their TOTP code in vain."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

from store.jobs import Job

from . import queries

__all__ = ["PURGE_SESSIONS_EVERY_S", "scheduled_jobs"]

PURGE_SESSIONS_EVERY_S: Final = 3600.0


def scheduled_jobs(pool: asyncpg.Pool) -> list[Job]:
    """``purge-sessions``: expired log-in sessions and log-in challenges are deleted every
    hour (a failed run is retried at the next)."""

    async def purge_sessions(now: datetime) -> None:
        async with pool.acquire() as conn:
            await queries.purge_sessions(conn)

    return [Job("purge-sessions", purge_sessions, every_s=PURGE_SESSIONS_EVERY_S)]
