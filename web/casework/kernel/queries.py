"""SQL of the casework kernel: the area tree and its data scope, units and people,
the work calendar, staged uploads and attachments.  ``$n`` parameters only."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

PURGE_UPLOADS_SQL: Final = "DELETE FROM upload_staging WHERE created_at < $1"


def _count(status: str) -> int:
    """Rows affected, from a command status such as ``DELETE 3``."""
    return int(status.rsplit(maxsplit=1)[-1])


async def purge_staged_uploads(pool: asyncpg.Pool, before: datetime) -> int:
    """Forget staged uploads older than ``before``; returns how many."""
    return _count(await pool.execute(PURGE_UPLOADS_SQL, before))
