"""Alerts about the platform itself (a failed backup …), raised by the job that saw the
failure, in whatever process runs it.

Such an alert has no station and no factor: scope ``system:<what>`` (e.g.
``system:backup``), so routes reach the everybody-scope people of their roles
(:class:`alerts.routing.ResponsibilityIndex`); migration 0064 adds the route for
``backup_failed``.  Raising opens the alert as ``firing`` (or counts one more failure on
the open one), resolving closes it (``resolved_by = 'system'``); both write an
``alert_events`` row and ``NOTIFY envgrid_alerts '<id>:<state>'`` in the same
transaction, which is how the engine's dispatcher (in the leader process) learns of it
and notifies — the same contract as every other alert (:mod:`alerts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import asyncpg

from .model import ALERTS_CHANNEL

__all__ = ["BACKUP_FAILED", "open_system_alert", "raise_system_alert", "resolve_system_alert"]

#: 备份失败: the scheduled backup (or its off-site copy) failed.
BACKUP_FAILED: Final = "backup_failed"

RAISE_SQL: Final = """
INSERT INTO alerts AS a (rule, scope_key, state, severity, first_seen, last_seen, fired_at,
                         reason, labels)
VALUES ($1, $2, 'firing', $3, $4, $4, $4, $5, $6)
ON CONFLICT (rule, scope_key, factor_id) WHERE state <> 'resolved'
DO UPDATE SET last_seen = EXCLUDED.last_seen, count = a.count + 1, reason = EXCLUDED.reason,
              labels = EXCLUDED.labels, updated_at = now()
RETURNING id, (xmax = 0) AS opened
"""
RESOLVE_SQL: Final = """
WITH open AS (
    SELECT id, state FROM alerts
     WHERE rule = $1 AND scope_key = $2 AND state <> 'resolved' FOR UPDATE
)
UPDATE alerts a SET state = 'resolved', resolved_at = $3, resolved_by = 'system',
                    updated_at = now()
  FROM open WHERE a.id = open.id
RETURNING a.id, open.state AS was
"""
EVENT_SQL: Final = """
INSERT INTO alert_events (alert_id, at, kind, from_state, to_state, comment)
VALUES ($1, $2, $3, $4, $5, $6)
"""


async def raise_system_alert(
    pool: asyncpg.Pool,
    rule: str,
    what: str,
    *,
    reason: str,
    now: datetime,
    severity: str = "critical",
    labels: Mapping[str, Any] | None = None,
) -> int:
    """Open (or repeat) the alert ``rule`` for ``system:<what>``; return its id.  ``pool``
    has the project's codecs (``store.db.create_pool``: jsonb as Python objects)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            RAISE_SQL,
            rule,
            f"system:{what}",
            severity,
            now,
            reason,
            dict(labels or {}),
        )
        assert row is not None
        alert_id = int(row["id"])
        if row["opened"]:
            await conn.execute(EVENT_SQL, alert_id, now, "firing", None, "firing", reason)
        await conn.execute("SELECT pg_notify($1, $2)", ALERTS_CHANNEL, f"{alert_id}:firing")
    return alert_id


async def resolve_system_alert(pool: asyncpg.Pool, rule: str, what: str, *, now: datetime) -> int:
    """Close the open alert ``rule`` for ``system:<what>``, if any; return how many."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(RESOLVE_SQL, rule, f"system:{what}", now)
        for row in rows:
            await conn.execute(EVENT_SQL, row["id"], now, "resolved", row["was"], "resolved", "")
            await conn.execute("SELECT pg_notify($1, $2)", ALERTS_CHANNEL, f"{row['id']}:resolved")
    return len(rows)


OPEN_SQL: Final = """
SELECT id, state, fired_at, last_seen, count, reason FROM alerts
 WHERE rule = $1 AND scope_key = $2 AND state <> 'resolved'
 ORDER BY id DESC LIMIT 1
"""


async def open_system_alert(
    conn: asyncpg.Connection, rule: str, what: str
) -> dict[str, Any] | None:
    """The open alert ``rule`` for ``system:<what>`` (firing or acknowledged), if any."""
    row = await conn.fetchrow(OPEN_SQL, rule, f"system:{what}")
    return None if row is None else dict(row)
