"""The scheduled backup and its alert 备份失败, end to end: the job (envgrid.backup_job)
fails against an unreachable database or a failing off-site copy, raises the system
alert, the alert engine's dispatcher routes it (migration 0064) to the everybody-scope
maintainers and a real webhook receiver gets the notice; the next good run writes the
backup, keeps the newest ``backup.keep``, copies it off-site and resolves the alert."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from alerts import api
from alerts.service import AlertService
from alerts.system import BACKUP_FAILED, raise_system_alert, resolve_system_alert
from envgrid.backup_job import scheduled_jobs
from envgrid.settings import Settings
from store.backup.archive import ArchiveReader
from store.backup.settings import BackupSettings
from store.db import connect, create_pool
from tests.conftest import free_port

from .conftest import Hooks, alert_settings

T0 = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)


def _with_backup(settings: Settings, **backup: Any) -> Settings:
    return dataclasses.replace(settings, backup=BackupSettings(schedule="02:30", **backup))


async def _pump(svc: AlertService, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await svc.dispatch()
        await asyncio.sleep(0.05)


async def test_raise_repeat_and_resolve_a_system_alert(db_dsn: str, db_pool: asyncpg.Pool) -> None:
    conn = await connect(db_dsn)
    heard: list[str] = []
    await conn.add_listener("envgrid_alerts", lambda *a: heard.append(a[3]))
    try:
        first = await raise_system_alert(db_pool, BACKUP_FAILED, "backup", reason="disk", now=T0)
        again = await raise_system_alert(db_pool, BACKUP_FAILED, "backup", reason="disk!", now=T0)
        assert first == again
        row = await db_pool.fetchrow("SELECT * FROM alerts WHERE id = $1", first)
        assert row is not None
        assert (row["scope_key"], row["state"], row["count"], row["reason"]) == (
            "system:backup",
            "firing",
            2,
            "disk!",
        )
        assert row["station_id"] is None and row["severity"] == "critical"
        assert await resolve_system_alert(db_pool, BACKUP_FAILED, "backup", now=T0) == 1
        assert await resolve_system_alert(db_pool, BACKUP_FAILED, "backup", now=T0) == 0
        events = await db_pool.fetch(
            "SELECT kind, from_state, to_state FROM alert_events WHERE alert_id = $1 ORDER BY id",
            first,
        )
        assert [tuple(e) for e in events] == [
            ("firing", None, "firing"),
            ("resolved", "firing", "resolved"),
        ]
        await asyncio.sleep(0.1)
        assert heard == [f"{first}:firing", f"{first}:firing", f"{first}:resolved"]
    finally:
        await conn.close()


async def test_a_failed_scheduled_backup_is_notified_and_the_next_good_one_resolves_it(
    db_dsn: str, webhooks: Hooks, pg_reachable_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = pg_reachable_tmp / "envgrid.toml"
    config.write_text("[backup]\nkeep = 1\n")
    monkeypatch.setenv("ENVGRID_CONFIG", str(config))  # how the systemd unit names it
    settings = alert_settings(db_dsn, pg_reachable_tmp, group_wait_s=0.1, group_interval_s=0.1)
    conn = await connect(db_dsn)
    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        rid = await api.create_receiver(
            conn, name="值班", kind="wecom", address=webhooks.url + "/w"
        )
        await api.add_responsibility(conn, receiver_id=rid, role="maintainer", scope="all")
        offsite = pg_reachable_tmp / "offsite"
        offsite.mkdir()
        backups = pg_reachable_tmp / "backups"
        unreachable = f"postgresql://envgrid:x@127.0.0.1:{free_port()}/envgrid"
        async with AlertService(settings, db_dsn) as svc:
            # 1. the database cannot be reached: the run fails and the alert fires
            (bad,) = scheduled_jobs(_with_backup(settings, dir=backups), unreachable, pool)
            assert (bad.name, bad.at) == ("backup", "02:30")
            with pytest.raises(OSError):
                await bad.run(T0)
            await _pump(svc, 0.6)
            (body,) = webhooks.bodies("/w")
            text = body["markdown"]["content"]
            assert "备份失败" in text and "系统" in text
            assert "x@" not in text  # no password in the notice
            # 2. good runs: a backup each, the newest one kept, copied off-site, resolved
            good_settings = _with_backup(
                settings, dir=backups, keep=1, copy_command=f"cp {{file}} {offsite}/"
            )
            (good,) = scheduled_jobs(good_settings, db_dsn, pool)
            assert "MiB" in await good.run(T0)
            assert "MiB" in await good.run(T0 + timedelta(days=1))
            kept = sorted(p.name for p in backups.iterdir())
            assert kept == ["envgrid-20261207T183000Z.tar"]
            with ArchiveReader(backups / kept[0]) as reader:
                names = {m.name for m in reader.manifest().members}
            assert {"config/envgrid.toml", "config/effective.toml"} <= names
            assert sorted(p.name for p in offsite.iterdir()) == [
                "envgrid-20261206T183000Z.tar",
                "envgrid-20261207T183000Z.tar",
            ]
            await _pump(svc, 0.6)
            assert "已恢复" in webhooks.bodies("/w")[-1]["markdown"]["content"]
            # 3. a failing off-site copy is a failed backup too
            (copy_fails,) = scheduled_jobs(
                _with_backup(settings, dir=backups, copy_command="false"), db_dsn, pool
            )
            with pytest.raises(Exception, match="copy_command exited with 1"):
                await copy_fails.run(T0 + timedelta(days=2))
            state = await conn.fetchval(
                "SELECT state FROM alerts WHERE rule = $1 ORDER BY id DESC LIMIT 1", BACKUP_FAILED
            )
            assert state == "firing"
        # no schedule, no job
        assert scheduled_jobs(settings, db_dsn, pool) == []
    finally:
        await pool.close()
        await conn.close()
