"""The 系统备份 page's API against a real PostgreSQL: settings in force without the copy
command's text, 立即备份 as a request that the leader's ``backup-requests`` job runs (a
real pg_dump of the test database), one backup at a time across processes (the advisory
lock, the second click), interrupted runs, failures with the 备份失败 alert — and every
other role refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from envgrid import backup_job
from envgrid.backup_job import request_jobs, scheduled_jobs
from envgrid.settings import Settings
from store.backup.runs import backup_lock
from store.backup.settings import BackupSettings, redact
from store.db import connect, create_pool
from tests.webapp import add_login, app_settings
from web.app import create_app
from web.permissions import ROLES

from .conftest import Seed, login

SECRET = "s3cr3tXYZ-token"
NOW = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
PATHS = (
    ("GET", "/admin/backups"),
    ("GET", "/api/v1/backups"),
    ("GET", "/api/v1/backups/status"),
    ("POST", "/api/v1/backups"),
)


def _settings(dsn: str, tmp: Path, copy_command: str) -> Settings:
    return app_settings(
        dsn,
        tmp,
        {
            "backup.dir": str(tmp / "backups"),
            "backup.schedule": "02:30",
            "backup.keep": 3,
            "backup.copy_command": copy_command,
        },
    )


@pytest.fixture
def settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    offsite = pg_reachable_tmp / "offsite"
    offsite.mkdir()
    command = f"sh -c 'cp \"$2\" {offsite}/' sh --token={SECRET} {{file}}"
    return _settings(db_dsn, pg_reachable_tmp, command)


@pytest.fixture
async def new_client(
    aiohttp_client: Callable[..., Any], settings: Settings, db_dsn: str, seeded: Seed
) -> Callable[..., Any]:
    async def make(app_settings: Settings = settings) -> TestClient:
        return await aiohttp_client(create_app(app_settings, db_dsn, background=False))

    return make


async def _status(client: TestClient) -> dict[str, Any]:
    resp = await client.get("/api/v1/backups/status")
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


async def test_other_roles_and_scoped_admins_are_refused(
    new_client: Callable[..., Any], seeded: Seed
) -> None:
    """Every built-in role but admin (tests/security/test_role_matrix.py walks the same
    routes with scoped users of every role), by session and by API token."""
    conn = await connect(seeded.dsn)
    try:
        tokens = {
            role: (await add_login(conn, f"bk_{role}", role))[1]
            for role in ROLES
            if role != "admin"
        }
    finally:
        await conn.close()
    assert len(tokens) == len(ROLES) - 1
    for role, token in tokens.items():
        client = await new_client()
        csrf = await login(client, f"bk_{role}")
        for method, path in PATHS:
            resp = await client.request(
                method, path, json={}, headers={"X-CSRF-Token": csrf}, allow_redirects=False
            )
            assert resp.status == 403, (role, method, path)
            if path.startswith("/api/"):
                error = (await resp.json())["error"]
                assert error["permission"] == "system:backup", (role, path)
            else:
                assert "没有权限" in await resp.text()
            bearer = {"Authorization": f"Bearer {token}"}
            resp = await client.request(method, path, json={}, headers=bearer)
            assert resp.status == 403, (role, method, path, "token")
    # an administrator limited to one district may look but not back up everything
    conn = await connect(seeded.dsn)
    try:
        await add_login(conn, "admin_r01", "admin", [seeded.areas["R01"]])
    finally:
        await conn.close()
    client = await new_client()
    csrf = await login(client, "admin_r01")
    assert (await client.get("/api/v1/backups")).status == 200
    resp = await client.post("/api/v1/backups", json={}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "out_of_scope"
    assert (await _status(client))["current"] is None


async def test_backup_now_runs_once_through_the_scheduler_and_is_listed(
    new_client: Callable[..., Any], settings: Settings, db_dsn: str, seeded: Seed
) -> None:
    admin = await new_client()
    csrf = await login(admin, "admin")
    resp = await admin.get("/api/v1/backups")
    assert resp.status == 200
    overview = await resp.json()
    assert overview["settings"] == {
        "schedule": "02:30",
        "timezone": settings.core.timezone,
        "keep": 3,
        "dir": str(settings.backup.dir),
        "copy_command": True,
        "copy_timeout_s": 3600.0,
        "checksums": True,
    }
    assert overview["items"] == []
    assert SECRET not in await resp.text()

    headers = {"X-CSRF-Token": csrf}
    resp = await admin.post("/api/v1/backups", json={}, headers=headers)
    assert resp.status == 202, await resp.text()
    run = await resp.json()
    assert (run["state"], run["trigger"], run["requested_by"]) == ("requested", "manual", "admin")
    # a second click while it waits: refused with a clear message, nothing queued twice
    resp = await admin.post("/api/v1/backups", json={}, headers=headers)
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "backup_busy" and "不能同时" in error["message"]
    assert error["run"] == run["id"]
    assert (await _status(admin))["current"]["id"] == run["id"]

    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        (job,) = request_jobs(settings, db_dsn, pool)
        assert job.name == "backup-requests" and job.every_s == 5.0
        # another process holds the backup lock (a backup running there): the request waits
        async with backup_lock(db_dsn):
            assert await job.run(NOW) is None
            (scheduled,) = scheduled_jobs(settings, db_dsn, pool)
            assert await scheduled.run(NOW) == "skipped: another backup is running"
        assert (await _status(admin))["current"]["state"] == "requested"
        done = await job.run(NOW)
        assert done is not None and "MiB" in done
        assert await job.run(NOW) is None  # nothing more to do
    finally:
        await pool.close()

    status = await _status(admin)
    assert status["current"] is None and status["alert"] is None
    assert status["last_scheduled"] is None  # a manual run is not a scheduled one
    (last,) = status["runs"]
    assert last["id"] == run["id"] and last["state"] == "succeeded" and last["error"] is None
    assert last["size"] > 0 and last["seconds"] > 0 and last["step"] == ""
    assert last["started_at"] and last["finished_at"]
    file = Path(last["file"])
    assert file.parent == settings.backup.dir and file.is_file()
    assert (settings.core.data_dir / "offsite" / file.name).is_file()  # copied off-site

    resp = await admin.get("/api/v1/backups")
    text = await resp.text()
    (item,) = (await resp.json())["items"]
    assert item["file"] == file.name and item["size"] == file.stat().st_size
    assert item["engine"] in ("postgresql", "timescaledb") and item["schema_version"] >= 66
    assert item["tables"]["stations"] == len(seeded.stations) and item["rows"] > 0
    assert item["secret_key"] is True and item["error"] is None
    assert item["restore_command"] == f"envgrid backup restore {file}"
    key = settings.core.secret_key_path.read_bytes()
    assert SECRET not in text and key.hex() not in text
    # the page never serves a backup: no route under /api/v1/backups gives the file
    for path in (f"/api/v1/backups/{file.name}", f"/static/{file.name}", f"/backups/{file.name}"):
        assert (await admin.get(path)).status == 404


async def test_interrupted_and_failed_runs_are_shown_and_alerted(
    new_client: Callable[..., Any], db_dsn: str, pg_reachable_tmp: Path, seeded: Seed
) -> None:
    failing = _settings(db_dsn, pg_reachable_tmp, f"sh -c 'echo token={SECRET} >&2; exit 3'")
    admin = await new_client(failing)
    csrf = await login(admin, "admin")
    # a run whose process died: no lock held, so it shows as interrupted and blocks nothing
    conn = await connect(db_dsn)
    try:
        await conn.execute(
            "INSERT INTO backup_runs (trigger, state, started_at, host)"
            " VALUES ('scheduled', 'running', now(), 'gone')"
        )
    finally:
        await conn.close()
    status = await _status(admin)
    assert status["current"] is None
    assert status["last_scheduled"]["state"] == "interrupted"
    resp = await admin.post("/api/v1/backups", json={}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 202

    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        (job,) = request_jobs(failing, db_dsn, pool)
        with pytest.raises(Exception, match="copy_command exited with 3"):
            await job.run(NOW)
    finally:
        await pool.close()
    status = await _status(admin)
    text = str(status)
    failed, stale = status["runs"]
    assert failed["state"] == "failed" and "copy_command exited with 3" in failed["error"]
    assert stale["state"] == "failed" and "中断" in stale["error"]
    assert status["alert"] is not None and "copy_command" in status["alert"]["reason"]
    assert SECRET not in text and "***" in failed["error"]
    # masked at the source: the alert's reason reaches every receiver of its route and the
    # alert pages (alerts:read), the run's error any reader of backup_runs
    conn = await connect(db_dsn)
    try:
        stored = await conn.fetch(
            "SELECT a.reason AS text FROM alerts a WHERE a.rule = 'backup_failed'"
            " UNION ALL SELECT e.comment FROM alert_events e JOIN alerts a ON a.id = e.alert_id"
            " WHERE a.rule = 'backup_failed'"
            " UNION ALL SELECT error FROM backup_runs WHERE error IS NOT NULL"
        )
    finally:
        await conn.close()
    assert stored and all(SECRET not in (r["text"] or "") for r in stored), stored


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("", "OSError: refused", "OSError: refused"),
        (
            "",
            "cannot reach postgresql://envgrid:pw@db/envgrid",
            "cannot reach postgresql://envgrid:***@db/envgrid",
        ),
        (
            "rclone copy {file} remote:bucket --s3-secret=Abc123456",
            "exited with 1: bad key Abc123456",
            "exited with 1: bad key ***",
        ),
        (
            "sh -c 'echo token=s3cr3tXYZ >&2; exit 3'",
            "exited with 3: token=s3cr3tXYZ",
            "exited with 3: token=***",
        ),
        ("cp {file} /x", "exited with 1: cp: no space", "exited with 1: cp: no space"),
    ],
)
def test_errors_shown_on_the_page_are_redacted(command: str, text: str, expected: str) -> None:
    assert redact(text, BackupSettings(copy_command=command)) == expected


async def test_the_page_sees_the_progress_of_a_running_backup(
    new_client: Callable[..., Any],
    settings: Settings,
    db_dsn: str,
    seeded: Seed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the leader runs the request, the status shows it running with its step (the
    progress is recorded every PROGRESS_EVERY_S; shortened here, the database is small)."""
    monkeypatch.setattr(backup_job, "PROGRESS_EVERY_S", 0.02)
    admin = await new_client()
    csrf = await login(admin, "admin")
    resp = await admin.post("/api/v1/backups", json={}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 202
    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    seen: list[tuple[str, str]] = []
    try:
        (job,) = request_jobs(settings, db_dsn, pool)
        run = asyncio.ensure_future(job.run(NOW))
        while not run.done():
            current = (await _status(admin))["current"]
            if current is not None:
                seen.append((current["state"], current["step"]))
            await asyncio.sleep(0.01)
        assert "MiB" in (run.result() or "")
    finally:
        await pool.close()
    steps = {step for state, step in seen if state == "running" and step}
    assert steps & {"table counts and checksums", "database (pg_dump)", "uploads"}, seen
    assert (await _status(admin))["current"] is None
