"""Scheduled work of the auth module, as plain data for the one scheduler
(``store.jobs``): the hourly purge of expired sessions, of log-ins that waited for their
TOTP code in vain, and of audit records past their retention."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

import asyncpg

from store.jobs import Job

from . import queries

__all__ = ["PURGE_EVERY_S", "scheduled_jobs"]

log = logging.getLogger(__name__)

PURGE_EVERY_S: Final = 3600.0


def scheduled_jobs(pool: asyncpg.Pool, audit_retention_days: int) -> list[Job]:
    """``web-purge``, every hour (a failed run is retried at the next): expired log-in
    sessions and TOTP log-in challenges, and log-in and operation log rows older than
    ``audit_retention_days`` (``web.audit_retention_days``) — the one path by which audit
    rows are deleted (``envgrid_audit.purge_older_than``, migration 0049)."""

    async def purge(now: datetime) -> None:
        async with pool.acquire() as conn:
            await queries.purge_sessions(conn)
            logins, operations = await queries.purge_audit(conn, audit_retention_days)
        if logins or operations:
            log.info(
                "audit retention (%d days): removed %d log-in and %d operation log rows",
                audit_retention_days,
                logins,
                operations,
            )

    return [Job("web-purge", purge, every_s=PURGE_EVERY_S)]
