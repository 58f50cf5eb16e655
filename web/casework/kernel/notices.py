"""The notice outbox (``case_notices``): cases, patrol tasks and hazards queue notices
here; :mod:`web.casework.cases.notify` sends them through the alert notifiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from web.casework.kernel import queries as q

__all__ = ["queue_notices"]


async def queue_notices(
    conn: asyncpg.Connection,
    kind: str,
    recipients: Sequence[int | None],
    *,
    due_at: datetime,
    title: str,
    body: str,
    dedup: str,
    case_id: int | None = None,
    task_id: int | None = None,
    hazard_id: int | None = None,
) -> int:
    """Queue one notice per recipient in the outbox (nobody configured: one, recipient NULL)."""
    rows = await q.insert_notices(
        conn,
        kind,
        case_id,
        task_id,
        hazard_id,
        due_at,
        title,
        body,
        dedup,
        list(recipients) or [None],
    )
    return len(rows)
