"""The casework jobs as the deployment's one scheduler sees them (web.casework.jobs)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import asyncpg

from alerts.notifiers import Channels
from tests.web.casework.conftest import NOW
from tests.web.casework.web_fixture import WebSeed, case_settings
from web.casework.jobs import scheduled_jobs
from web.casework.kernel.config import CaseConfig


async def test_six_jobs_by_name_interval_and_start(
    db_dsn: str, pg_reachable_tmp: Path, web_seed: WebSeed
) -> None:
    settings = case_settings(
        db_dsn, pg_reachable_tmp, **{"cases.sweep_interval_s": 30.0, "cases.notice_interval_s": 5.0}
    )
    pool = await asyncpg.create_pool(db_dsn, min_size=1, max_size=2)
    channels = Channels(settings.alerts)
    try:
        jobs = scheduled_jobs(pool, settings, channels)
        assert [(j.name, j.every_s) for j in jobs] == [
            ("case-deadlines", 30.0),
            ("patrol-overdue", 30.0),
            ("case-notices", 5.0),
            ("patrol-tasks", 600.0),
            ("alert-cases", 300.0),
            ("upload-purge", 3600.0),
        ]
        assert all(j.run_at_start and j.misfire_grace_s == 60 and j.at is None for j in jobs)
        # staged files: 'x' abandoned, 'y' fresh, 'z' abandoned but also a case's photo
        uploads = CaseConfig.from_settings(settings).uploads_dir
        for name in ("x", "y", "z"):
            (uploads / "2026").mkdir(parents=True, exist_ok=True)
            (uploads / "2026" / name).write_bytes(b"photo")
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO upload_staging (token, user_id, path, mime, size, sha256, created_at)"
                " VALUES ('old', $3, '2026/x', 'image/jpeg', 1, '', $1),"
                " ('new', $3, '2026/y', 'image/jpeg', 1, '', $2),"
                " ('kept', $3, '2026/z', 'image/jpeg', 1, '', $1)",
                NOW - timedelta(days=2),
                NOW,
                web_seed.users["handler"],
            )
            await conn.execute(
                "INSERT INTO attachments (owner, owner_id, path, mime, size, sha256)"
                " VALUES ('task', 1, '2026/z', 'image/jpeg', 5, '')"
            )
        purge = next(j for j in jobs if j.name == "upload-purge")
        assert await purge.run(NOW) == 2
        # issue 16, finding 6: the abandoned upload's file goes with its record
        assert sorted(p.name for p in (uploads / "2026").iterdir()) == ["y", "z"]
        for job in jobs:  # an empty world: every job runs and finds nothing (idempotent)
            await job.run(datetime.now().astimezone())
    finally:
        await channels.close()
        await pool.close()
