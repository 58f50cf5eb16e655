"""Handlers of the 系统备份 page: the overview (settings in force, the backup files), the
status (runs, progress, the open alert) the page polls, and 立即备份.

Nothing secret leaves here: the copy command is reported as present or not, never its
text; the files are listed (name, size, manifest figures), never served; error texts are
passed through :func:`redact` (passwords of URLs, the copy command's arguments)."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from alerts.system import BACKUP_FAILED, open_system_alert
from store.backup import runs
from store.backup.catalog import BackupEntry, list_backups
from store.backup.settings import BackupSettings, redact
from web import context
from web.pages import shell
from web.responses import ApiError, json_response

page = shell("admin_backups.html", "系统备份")

#: Tables whose row counts the list shows (``envgrid backup list`` prints the same).
SHOWN_TABLES: Final = ("measurements_", "agg_hourly", "packet_ledger")


def _directory(request: web.Request) -> Path:
    s = context.settings(request)
    return s.backup.directory(s.core.data_dir)


def _entry(e: BackupEntry) -> dict[str, Any]:
    m = e.manifest
    tables = {t.name: t.rows for t in m.tables} if m else {}
    shown = {
        prefix.rstrip("_"): sum(rows for name, rows in tables.items() if name.startswith(prefix))
        for prefix in SHOWN_TABLES
    }
    return {
        "file": e.path.name,
        "path": str(e.path),
        "size": e.size,
        "created_at": m.created_at if m else None,
        "engine": m.engine if m else None,
        "timescaledb_version": m.timescaledb_version if m else None,
        "server_version": m.server_version if m else None,
        "schema_version": m.schema_version if m else None,
        "envgrid_version": m.envgrid_version if m else None,
        "host": m.host if m else None,
        "checksums": m.checksums if m else None,
        "secret_key": m.secret_key if m else None,
        "table_count": len(tables),
        "rows": sum(tables.values()),
        "shown_rows": shown,
        "tables": tables,
        "error": e.error or None,
        "restore_command": f"envgrid backup restore {shlex.quote(str(e.path))}",
    }


async def overview(request: web.Request) -> web.Response:
    s = context.settings(request)
    b = s.backup
    directory = _directory(request)
    entries = await asyncio.to_thread(list_backups, directory)
    return json_response(
        {
            "settings": {
                "schedule": b.schedule or None,
                "timezone": s.core.timezone,
                "keep": b.keep,
                "dir": str(directory),
                "copy_command": bool(b.copy_command),
                "copy_timeout_s": b.copy_timeout_s,
                "checksums": b.checksums,
            },
            "items": [_entry(e) for e in reversed(entries)],
        }
    )


def _run(row: dict[str, Any] | None, backup: BackupSettings) -> dict[str, Any] | None:
    if row is None:
        return None
    return {**row, "error": redact(row["error"], backup)}


async def status(request: web.Request) -> web.Response:
    b = context.settings(request).backup
    async with context.pool(request).acquire() as conn:
        pending = await runs.pending_run(conn)
        recent = await runs.recent_runs(conn, 10)
        last = await runs.last_scheduled_run(conn)
        alert = await open_system_alert(conn, BACKUP_FAILED, "backup")
    if alert is not None:
        alert["reason"] = redact(alert["reason"], b)
    return json_response(
        {
            "current": _run(pending, b),
            "last_scheduled": _run(last, b),
            "runs": [_run(r, b) for r in recent],
            "alert": alert,
        }
    )


async def start(request: web.Request) -> web.Response:
    caller = context.caller(request)
    if caller.scope is not None:
        raise ApiError(
            403,
            "out_of_scope",
            "您的数据范围受限，不能备份：备份包含全部站点的数据和密钥，只有不限数据范围的管理员可以备份",
        )
    async with context.pool(request).acquire() as conn:
        try:
            row = await runs.request_backup(conn, caller.username)
        except runs.BackupBusy:
            pending = await runs.pending_run(conn)
            raise ApiError(
                409,
                "backup_busy",
                "已有备份正在进行或等待执行，不能同时进行两个备份；请等它结束后再试",
                run=None if pending is None else pending["id"],
            ) from None
    context.audit(request, run=row["id"])
    return json_response(_run(row, context.settings(request).backup), status=202)
