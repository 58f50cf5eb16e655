"""``envgrid audit`` end to end (a real process against a real PostgreSQL), and the
pre-audit proposals confirmed in bulk."""

from __future__ import annotations

import getpass
import json
from datetime import timedelta
from pathlib import Path

import asyncpg

from aggregates.audit import Actor, log_entries
from aggregates.audit.proposals import (
    confirm,
    dismiss,
    open_proposals,
    scan,
    scheduled_jobs,
)

from .conftest import run_cli
from .dbdata import add_stations, copy_rows, hourly_day, local, prepare, upsert_hour
from .test_audit import DAY, PM25, _daily_pm25, _network


async def test_cli_invalidate_log_and_errors(
    db_pool: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    ids = await _network(db_pool)
    dsn = ("--dsn", db_dsn)
    out = run_cli(
        "audit", "", *dsn, "invalidate", "ST1", "--factor", PM25, "--from",
        "2024-03-05T08:00", "--to", "2024-03-05T08:59", "--reason", "仪器故障",
        "--note", "已报修", "--refresh", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    entry = json.loads(out.stdout)
    assert (entry["actor"], entry["actor_kind"], entry["n_changed"]) == (
        getpass.getuser(),
        "cli",
        1,
    )
    async with db_pool.acquire() as conn:  # --refresh recomputed the day at once
        assert await _daily_pm25(conn, ids[PM25]) == (35.0, 23)

    log = run_cli("audit", "", *dsn, "log", "ST1")
    assert log.returncode == 0, log.stderr
    assert "标记无效" in log.stdout and "原因：仪器故障（已报修）" in log.stdout
    assert "2024-03-05 08:00–2024-03-05 09:00" in log.stdout
    assert f"{PM25} 2024-03-05 08:00  值 515.0：有效 → 无效" in log.stdout  # before/after

    csv_path = tmp_path / "audit.csv"
    exported = run_cli("audit", "", *dsn, "log", "--csv", str(csv_path))
    assert exported.returncode == 0, exported.stderr
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("id,time,actor") and len(lines) == 2

    scanned = run_cli(
        "audit", "", *dsn, "proposals", "scan", "--from", "2024-03-05", "--to", "2024-03-05"
    )
    assert scanned.returncode == 0, scanned.stderr
    assert "预审核：新发现 0 条" in scanned.stdout  # hour 8 is already invalid

    for args, message in (
        (("invalidate", "ST1", "--factor", PM25, "--from", "x", "--to", "y", "--reason", "r"),
         "时间格式不正确"),
        (("invalidate", "ST1", "--factor", PM25, "--from", "2024-03-05T08:00", "--to",
          "2024-03-05T08:00", "--reason", "r"), "已全部标记为无效"),
        (("restore", "NOPE", "--all-factors", "--day", "2024-03-05"), "站点不存在"),
        (("invalidate", "ST1", "--all-factors", "--day", "2024-03-05"), "原因"),
        (("proposals", "confirm"), "请给出预审核编号或 --all"),
    ):  # fmt: skip
        bad = run_cli("audit", "", *dsn, *args)
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert message in bad.stderr and "Traceback" not in bad.stderr


async def test_pre_audit_proposes_and_an_officer_confirms_in_bulk(db_pool: asyncpg.Pool) -> None:
    async with db_pool.acquire() as conn:
        ids = await prepare(conn)
        await add_stations(conn, [(1, "东区")], rtd_interval=60)
        pm10 = ids["a34002"]
        # PM2.5: hour 2 negative, hours 5-6 above PM10; PM10 constant 50
        await upsert_hour(conn, hourly_day(1, ids[PM25], DAY, [30.0, 30.0, -3.0, 30, 30, 80, 90]))
        await upsert_hour(conn, hourly_day(1, pm10, DAY, [50.0] * 7))
        # SO2 from real-time data: hour 10 valid although 3 samples carry the C flag
        so2 = ids["a21026"]
        await copy_rows(
            conn,
            "measurements_rtd",
            [
                (1, so2, local(DAY, 10, m), 8.0, None, None, None, None, "C" if m < 3 else "N")
                for m in range(60)
            ],
        )
        new = await scan(conn, local(DAY), local(DAY + timedelta(days=1)))
        assert await scan(conn, local(DAY), local(DAY + timedelta(days=1))) == 0  # stored once
        # the scheduled job scans the two days before its run: the same findings, stored once
        [job] = scheduled_jobs(db_pool)
        assert await job.run(local(DAY + timedelta(days=1), 12)) == 0
        found = await open_proposals(conn)
        got = sorted((r["code"], r["hour"], r["rule"]) for r in found)
        assert new == len(found) == 6
        assert got == sorted(
            [
                (PM25, local(DAY, 2), "negative"),
                (PM25, local(DAY, 5), "pm25_gt_pm10"),
                (PM25, local(DAY, 6), "pm25_gt_pm10"),
                ("a34002", local(DAY, 5), "pm25_gt_pm10"),
                ("a34002", local(DAY, 6), "pm25_gt_pm10"),
                ("a21026", local(DAY, 10), "calibration"),
            ]
        )
        # nothing applied yet
        assert await conn.fetchval("SELECT count(*) FROM audit_marks") == 0
        officer = Actor("zhang", "web", 7)
        pm25_ids = [r["id"] for r in found if r["code"] == PM25]
        n, logs = await confirm(conn, pm25_ids, officer)
        # hours 5–6 of the same rule are one run: two log rows for three proposals
        assert (n, len(logs)) == (3, 2)
        assert await conn.fetchval("SELECT count(*) FROM audit_marks") == 3
        entries = await log_entries(conn)
        assert {(e.source, e.actor, e.reason) for e in entries} == {
            ("proposal", "zhang", "负值"),
            ("proposal", "zhang", "PM2.5 大于 PM10"),
        }
        assert await dismiss(conn, [r["id"] for r in found], officer) == 3  # the open rest
        assert await open_proposals(conn) == []
        assert len(await open_proposals(conn, status="confirmed")) == 3
        invalid = await conn.fetch(
            "SELECT factor_id, ts FROM hourly_values WHERE audited ORDER BY ts"
        )
        assert [(r["factor_id"], r["ts"]) for r in invalid] == [
            (ids[PM25], local(DAY, h)) for h in (2, 5, 6)
        ]
