"""Backups wired together: what goes in (:func:`backup_sources`: the database, the
uploads of the case module, the configuration, the secret key), and the scheduled
backup (``[backup] schedule``) on the one scheduler of the leader.

A scheduled run writes ``backup.dir/envgrid-<UTC time>.tar``, deletes the backups beyond
the newest ``backup.keep``, runs ``backup.copy_command`` (off-site copy), and resolves
an open 备份失败 alert. A backup asked for on the dashboard (系统备份, 立即备份: a ``requested`` row
of ``backup_runs``) is run the same way by the job ``backup-requests``; both record
their progress and result there and take the backup lock first, so two never run at once
(:mod:`store.backup.runs`). Any failure — the database, pg_dump, the disk, the copy —
raises the alert ``backup_failed`` (:mod:`alerts.system`) with the reason, and the run
fails (the scheduler logs it); the next successful run resolves the alert.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import asyncpg

from alerts.system import BACKUP_FAILED, raise_system_alert, resolve_system_alert
from envgrid.config import render_toml
from envgrid.settings import Settings
from store.backup.catalog import prune_backups
from store.backup.create import BackupResult, BackupSources, backup_name, create_backup
from store.backup.manifest import BackupError
from store.backup.progress import QUIET, Steps
from store.backup.runs import (
    BackupBusy,
    ProgressSteps,
    backup_lock,
    claim_request,
    finish_run,
    record_progress,
    start_scheduled_run,
)
from store.backup.settings import redact
from store.config import LoadedSettings, find_config_file, settings_as_dict
from store.jobs import Job
from store.validation import ConfigError
from web.casework.kernel.config import CaseConfig

__all__ = ["backup_sources", "request_jobs", "run_scheduled_backup", "scheduled_jobs"]

log = logging.getLogger("envgrid.backup")

#: A backup missed by up to an hour (the leader was restarting) still runs.
MISFIRE_GRACE_S = 3600.0
_REASON_MAX = 500
#: Progress of a running backup is recorded this often (the 系统备份 page polls it).
PROGRESS_EVERY_S: Final = 1.0
#: The leader looks for a backup requested on the dashboard this often.
REQUEST_POLL_S: Final = 5.0
WAITING_SQL: Final = "SELECT EXISTS (SELECT 1 FROM backup_runs WHERE state = 'requested')"


def backup_sources(
    settings: Settings, dsn: str, config_files: Sequence[Path] = ()
) -> BackupSources:
    """What a backup of this deployment holds."""
    loaded = LoadedSettings(settings, config_files[0] if config_files else None, {})
    return BackupSources(
        dsn=dsn,
        uploads_dir=CaseConfig.from_settings(settings).uploads_dir,
        secret_key_file=settings.core.secret_key_path,
        config_files=tuple(config_files),
        effective_config=render_toml(loaded, settings_as_dict(settings, redact=True)),
        checksums=settings.backup.checksums,
        bindir=settings.database.embedded_bindir,
        connect_timeout_s=settings.database.connect_timeout_s,
    )


def _copy_offsite(settings: Settings, path: Path) -> None:
    argv = settings.backup.copy_argv(path)
    if not argv:
        return
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=settings.backup.copy_timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(
            f"backup.copy_command did not finish within {settings.backup.copy_timeout_s:g} s"
        ) from None
    except OSError as exc:
        raise BackupError(f"backup.copy_command cannot run: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-300:]
        raise BackupError(f"backup.copy_command exited with {done.returncode}: {tail}")


def _config_file() -> list[Path]:
    """The configuration file of this deployment as the leader can know it:
    ``$ENVGRID_CONFIG`` (the systemd unit's way) or ``./envgrid.toml``; a file given with
    ``envgrid serve --config`` is not passed down to the leader, and is not included."""
    try:
        found = find_config_file(None, os.environ, Path.cwd())
    except ConfigError:
        return []
    return [found] if found is not None else []


def run_scheduled_backup(
    settings: Settings, dsn: str, now: datetime, steps: Steps = QUIET
) -> BackupResult:
    """One scheduled backup, blocking: create, keep the newest N, copy off-site."""
    directory = settings.backup.directory(settings.core.data_dir)
    sources = backup_sources(settings, dsn, _config_file())
    result = create_backup(sources, directory / backup_name(now), steps)
    with steps.step("keep"):
        for old in prune_backups(directory, settings.backup.keep):
            log.info("backup: deleted %s (backup.keep = %d)", old, settings.backup.keep)
    with steps.step("copy off-site"):
        _copy_offsite(settings, result.path)
    return result


async def _run_recorded(
    settings: Settings, dsn: str, locked: asyncpg.Connection, run_id: int, now: datetime
) -> BackupResult:
    """Run the backup in a thread, recording its progress every second and its end."""
    steps = ProgressSteps()
    work = asyncio.ensure_future(asyncio.to_thread(run_scheduled_backup, settings, dsn, now, steps))
    try:
        while not (await asyncio.wait({work}, timeout=PROGRESS_EVERY_S))[0]:
            await record_progress(locked, run_id, steps)
        result = work.result()
    except asyncio.CancelledError:
        raise  # the row stays 'running' without the lock: shown and closed as interrupted
    except Exception as exc:
        await finish_run(locked, run_id, error=_reason(exc, settings))
        raise
    await finish_run(
        locked,
        run_id,
        file=str(result.path),
        size=result.path.stat().st_size,
        seconds=result.seconds,
    )
    return result


def _reason(exc: BaseException, settings: Settings) -> str:
    """What failed, for the run, the alert and the log: secrets of the copy command
    (echoed in its error output) and URL passwords masked."""
    text = redact(f"{type(exc).__name__}: {exc}", settings.backup) or ""
    return text[:_REASON_MAX]


async def _alerting(
    pool: asyncpg.Pool,
    settings: Settings,
    now: datetime,
    run: Callable[[], Awaitable[BackupResult | None]],
) -> str | None:
    """``run``, raising 备份失败 when it fails and resolving it when a backup is made."""
    try:
        result = await run()
    except (asyncio.CancelledError, BackupBusy):
        raise
    except Exception as exc:
        reason = _reason(exc, settings)
        log.error("backup failed: %s", reason)
        await raise_system_alert(pool, BACKUP_FAILED, "backup", reason=reason, now=now)
        raise
    if result is None:
        return None
    await resolve_system_alert(pool, BACKUP_FAILED, "backup", now=now)
    m = result.manifest
    return f"{result.path} ({m.size / 2**20:.1f} MiB) in {result.seconds:.1f} s"


def scheduled_jobs(settings: Settings, dsn: str, pool: asyncpg.Pool) -> list[Job]:
    """The ``backup`` job when ``backup.schedule`` is set."""
    if not settings.backup.schedule:
        return []
    timeout = settings.database.connect_timeout_s

    async def scheduled(now: datetime) -> BackupResult:
        async with backup_lock(dsn, connect_timeout_s=timeout) as locked:
            run_id = await start_scheduled_run(locked)
            return await _run_recorded(settings, dsn, locked, run_id, now)

    async def run(now: datetime) -> str | None:
        try:
            return await _alerting(pool, settings, now, lambda: scheduled(now))
        except BackupBusy:
            log.warning("backup: skipped at %s, another backup is running", now)
            return "skipped: another backup is running"

    return [Job("backup", run, at=settings.backup.schedule, misfire_grace_s=MISFIRE_GRACE_S)]


def request_jobs(settings: Settings, dsn: str, pool: asyncpg.Pool) -> list[Job]:
    """The ``backup-requests`` job: run the backup asked for on the dashboard (系统备份,
    立即备份) — the same work as the scheduled backup, recorded the same way."""
    timeout = settings.database.connect_timeout_s

    async def requested() -> BackupResult | None:
        async with backup_lock(dsn, connect_timeout_s=timeout) as locked:
            run_id = await claim_request(locked)
            if run_id is None:
                return None
            log.info("backup: running the backup requested on the dashboard (run %d)", run_id)
            return await _run_recorded(settings, dsn, locked, run_id, datetime.now(UTC))

    async def run(now: datetime) -> str | None:
        if await pool.fetchval(WAITING_SQL) is not True:
            return None
        try:
            return await _alerting(pool, settings, now, requested)
        except BackupBusy:
            return None  # the running backup ends first; the request waits for the next poll

    return [Job("backup-requests", run, every_s=REQUEST_POLL_S)]
