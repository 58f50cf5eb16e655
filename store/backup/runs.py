"""Backup runs (table ``backup_runs``, migration 0066): the requests of the dashboard's
系统备份 page, the scheduled and requested runs with their progress and result, and the
lock that keeps backups one at a time.

Theory of operation: the web process never runs a backup.  立即备份 inserts a
``requested`` row (:func:`request_backup`); the leader's scheduler polls for it (job
``backup-requests``) and runs it like the scheduled backup.  Whoever runs a backup first
takes the session advisory lock :data:`LOCK_KEYS` on a connection of its own
(:func:`backup_lock`) and keeps it until the run is recorded as finished; holding it, it
closes the ``running`` rows nobody holds the lock for (their process died), then claims
the request or records its scheduled run.  So two backups never run at once, whichever
processes ask, and a crashed run never blocks the next one.  A second request while one
waits or runs is refused (:class:`BackupBusy`); the unique indexes of 0066 make that
hold against races too.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final

import asyncpg

from store.db import connect

__all__ = [
    "LOCK_KEYS",
    "BackupBusy",
    "ProgressSteps",
    "backup_lock",
    "claim_request",
    "finish_run",
    "last_scheduled_run",
    "pending_run",
    "recent_runs",
    "record_progress",
    "request_backup",
    "start_scheduled_run",
]

#: pg_advisory_lock(int4, int4) keys of "a backup is running" ("env", issue 20); the
#: same numbers are in migration 0066 (``envgrid_backup_lock_held()``).
LOCK_KEYS: Final = (0x656E76, 20)

# The runs are read through the view ``backup_runs_shown`` (0066): a 'running' run nobody
# holds the lock for shows as 'interrupted'.
REQUEST_SQL: Final = """
INSERT INTO backup_runs (trigger, requested_by, state)
SELECT 'manual', $1, 'requested'
 WHERE NOT EXISTS (SELECT 1 FROM backup_runs
                    WHERE state = 'requested'
                       OR (state = 'running' AND envgrid_backup_lock_held()))
RETURNING id, trigger, requested_by, state, requested_at, started_at, finished_at, host,
          step, step_done, step_total, file, size, seconds, error
"""
PENDING_SQL: Final = """
SELECT * FROM backup_runs_shown WHERE state IN ('requested', 'running')
 ORDER BY id DESC LIMIT 1
"""
RECENT_SQL: Final = "SELECT * FROM backup_runs_shown ORDER BY id DESC LIMIT $1"
LAST_SCHEDULED_SQL: Final = """
SELECT * FROM backup_runs_shown WHERE trigger = 'scheduled' AND state <> 'running'
 ORDER BY id DESC LIMIT 1
"""
CLOSE_STALE_SQL: Final = """
UPDATE backup_runs SET state = 'failed', finished_at = now(),
       error = '中断：执行备份的进程已停止（interrupted: the process running it stopped）'
 WHERE state = 'running'
"""
CLAIM_SQL: Final = """
UPDATE backup_runs SET state = 'running', started_at = now(), host = $1
 WHERE state = 'requested'
RETURNING id
"""
SCHEDULED_SQL: Final = """
INSERT INTO backup_runs (trigger, state, started_at, host)
VALUES ('scheduled', 'running', now(), $1) RETURNING id
"""
PROGRESS_SQL: Final = """
UPDATE backup_runs SET step = $2, step_done = $3, step_total = $4 WHERE id = $1
"""
FINISH_SQL: Final = """
UPDATE backup_runs SET state = $2, finished_at = now(), file = $3, size = $4, seconds = $5,
       error = $6, step = ''
 WHERE id = $1
"""


class BackupBusy(RuntimeError):
    """A backup is already requested or running."""


@asynccontextmanager
async def backup_lock(dsn: str, *, connect_timeout_s: float = 10.0) -> AsyncIterator[Any]:
    """A connection holding the backup lock, kept for the whole run (its runs' rows are
    written through it); :class:`BackupBusy` when another process holds it."""
    conn = await connect(
        dsn, application_name="envgrid backup", connect_timeout_s=connect_timeout_s
    )
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *LOCK_KEYS):
            raise BackupBusy("another backup is running")
        try:
            yield conn
        finally:
            if not conn.is_closed():
                await conn.execute("SELECT pg_advisory_unlock($1, $2)", *LOCK_KEYS)
    finally:
        await conn.close()


async def request_backup(conn: asyncpg.Connection, username: str) -> dict[str, Any]:
    """Record a request for the scheduler; :class:`BackupBusy` when one waits or runs."""
    try:
        row = await conn.fetchrow(REQUEST_SQL, username)
    except asyncpg.UniqueViolationError:
        row = None
    if row is None:
        raise BackupBusy("a backup is already requested or running")
    return dict(row)


async def pending_run(conn: asyncpg.Connection) -> dict[str, Any] | None:
    """The request waiting or the backup running, if any."""
    row = await conn.fetchrow(PENDING_SQL)
    return None if row is None else dict(row)


async def recent_runs(conn: asyncpg.Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest first; a run whose process died shows as ``interrupted``."""
    return [dict(r) for r in await conn.fetch(RECENT_SQL, limit)]


async def last_scheduled_run(conn: asyncpg.Connection) -> dict[str, Any] | None:
    """The last scheduled run that has finished (or was interrupted)."""
    row = await conn.fetchrow(LAST_SCHEDULED_SQL)
    return None if row is None else dict(row)


async def claim_request(locked: asyncpg.Connection) -> int | None:
    """Holding :func:`backup_lock`: close interrupted runs, take the waiting request."""
    await locked.execute(CLOSE_STALE_SQL)
    value = await locked.fetchval(CLAIM_SQL, socket.gethostname())
    return None if value is None else int(value)


async def start_scheduled_run(locked: asyncpg.Connection) -> int:
    """Holding :func:`backup_lock`: close interrupted runs, record a scheduled one."""
    await locked.execute(CLOSE_STALE_SQL)
    return int(await locked.fetchval(SCHEDULED_SQL, socket.gethostname()))


async def record_progress(locked: asyncpg.Connection, run_id: int, steps: ProgressSteps) -> None:
    label, done, total = steps.snapshot()
    await locked.execute(PROGRESS_SQL, run_id, label, done, total)


async def finish_run(
    locked: asyncpg.Connection,
    run_id: int,
    *,
    file: str | None = None,
    size: int | None = None,
    seconds: float | None = None,
    error: str | None = None,
) -> None:
    state = "failed" if error else "succeeded"
    await locked.execute(FINISH_SQL, run_id, state, file, size, seconds, error)


class ProgressSteps:
    """A :class:`~store.backup.progress.Steps` that only remembers where the job is (the
    step's label, bytes done, bytes expected): the backup thread writes, the event loop
    reads :meth:`snapshot` and records it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._label = ""
        self._done = 0
        self._total: int | None = None

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[None]:
        with self._lock:
            self._label, self._done, self._total = label, 0, total
        yield

    def advance(self, amount: int) -> None:
        with self._lock:
            self._done += amount

    def snapshot(self) -> tuple[str, int, int | None]:
        with self._lock:
            return self._label, self._done, self._total
