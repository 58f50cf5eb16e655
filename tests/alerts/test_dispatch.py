"""Offline sweep → routing → grouping → delivery, against a real database, a real SMTP
server and a local webhook receiver: reminders, recovery notices, no duplicates after a
restart, inhibition of mass offline, silences, the daily ranking push."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from aggregates.standards import default_registry
from alerts import api, ranking
from alerts.service import AlertService
from store.db import connect
from store.stations import NewStation

from .conftest import Hooks, SmtpServer, alert_settings, register, wait_for

SH = ZoneInfo("Asia/Shanghai")


def station(i: int, region: str) -> NewStation:
    return NewStation(f"AQ{i:022d}", "123456", f"站点{i}", "22", 30.2, 120.1, region)


async def set_state(
    conn: asyncpg.Connection,
    station_id: int,
    silent_s: float,
    connected: bool = False,
    worker: int = 1,
) -> None:
    await conn.execute(
        """
        INSERT INTO station_state (station_id, connected, worker, last_data_at, last_frame_at,
                                   disconnected_at)
        VALUES ($1, $2, $4, now() - make_interval(secs => $3), now() - make_interval(secs => $3),
                CASE WHEN $2 THEN NULL ELSE now() - make_interval(secs => $3) END)
        ON CONFLICT (station_id) DO UPDATE SET connected = EXCLUDED.connected,
            last_data_at = EXCLUDED.last_data_at, disconnected_at = EXCLUDED.disconnected_at,
            worker = EXCLUDED.worker
        """,
        station_id,
        connected,
        silent_s,
        worker,
    )


async def pump(svc: AlertService, seconds: float, sweep: bool = True) -> None:
    """Run sweeps and dispatcher ticks for a while (the scheduler's job, faster)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if sweep:
            await svc.sweep()
        await svc.dispatch()
        await asyncio.sleep(0.05)


async def test_offline_notice_hourly_reminder_recovery_no_duplicates_after_restart(
    db_dsn: str, smtp_server: SmtpServer, pg_reachable_tmp: Path
) -> None:
    ids = await register(db_dsn, station(1, "西湖区"))
    sid = next(iter(ids.values()))
    settings = alert_settings(
        db_dsn,
        pg_reachable_tmp,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        offline_after_s=60,
        offline_remind_s=3,  # the "hourly" reminder, compressed
        group_wait_s=0.2,
        group_interval_s=0.3,
        catchup_s=0,
    )
    conn = await connect(db_dsn)
    mail = smtp_server.mailbox
    try:
        rid = await api.create_receiver(conn, name="运维甲", kind="email", address="m@x.cn")
        await api.add_responsibility(
            conn, receiver_id=rid, role="maintainer", scope="region", scope_key="西湖区"
        )
        officer = await api.create_receiver(conn, name="监管乙", kind="email", address="o@x.cn")
        await api.add_responsibility(conn, receiver_id=officer, role="officer", scope="all")
        await set_state(conn, sid, 30)
        async with AlertService(settings, db_dsn) as svc:
            await pump(svc, 0.5)
            assert mail.messages == []  # not yet offline
            await set_state(conn, sid, 120)
            await pump(svc, 0.6)
            await wait_for(lambda: _n(mail.messages, 1))
            (first,) = mail.messages
            assert first["Subject"] == "【环境监测告警】断线 · 西湖区：1 条新告警"
            assert mail.envelopes[0][1] == ["m@x.cn"]  # maintainers only, not the officer
            assert "站点1（西湖区） 断线" in mail.text(first)
        # restart within the reminder interval: nothing is sent again
        async with AlertService(settings, db_dsn) as svc:
            await pump(svc, 1.0)
            assert len(mail.messages) == 1
            await wait_for(lambda: _pumped(svc, mail.messages, 2), timeout=6)
            assert (
                mail.messages[1]["Subject"]
                == "【环境监测告警·提醒】断线 · 西湖区：1 条告警仍未恢复"
            )
            await set_state(conn, sid, 0, connected=True)  # data returns
            await wait_for(lambda: _pumped(svc, mail.messages, 3), timeout=5)
            assert (
                mail.messages[2]["Subject"]
                == "【环境监测告警·已恢复】断线 · 西湖区：1 条告警已恢复"
            )
            await pump(svc, 1.0)
        assert len(mail.messages) == 3
        alerts = await api.list_alerts(conn)
        assert [(a.rule, a.state) for a in alerts.items] == [("offline", "resolved")]
        detail = await api.get_alert(conn, alerts.items[0].id)
        assert detail is not None
        assert [n["kind"] for n in detail.notifications] == ["alert", "reminder", "alert"]
        assert all(n["status"] == "sent" for n in detail.notifications)
    finally:
        await conn.close()


async def _n(items: list[object], n: int) -> bool:
    return len(items) >= n


async def _pumped(svc: AlertService, items: list[object], n: int) -> bool:
    await svc.sweep()
    await svc.dispatch()
    return len(items) >= n


async def test_mass_offline_is_one_grouped_notice(
    db_dsn: str, webhooks: Hooks, pg_reachable_tmp: Path
) -> None:
    east = [station(i, "东区") for i in range(1, 21)]
    west = [station(i, "西区") for i in range(21, 61)]
    ids = await register(db_dsn, *east, *west)
    settings = alert_settings(
        db_dsn,
        pg_reachable_tmp,
        offline_after_s=60,
        group_wait_s=0.3,
        group_interval_s=0.3,
        inhibit_min_stations=10,
        inhibit_ratio=0.3,
        catchup_s=0,
    )
    conn = await connect(db_dsn)
    try:
        rid = await api.create_receiver(
            conn, name="群", kind="wecom", address=webhooks.url + "/wecom"
        )
        await api.add_responsibility(conn, receiver_id=rid, role="maintainer", scope="all")
        worker = {s.mn: i % 4 for i, s in enumerate([*east, *west])}  # spread like SO_REUSEPORT
        for s in [*east, *west]:
            await set_state(conn, ids[s.mn], 30, worker=worker[s.mn])
        async with AlertService(settings, db_dsn) as svc:
            await pump(svc, 0.3)
            for s in east[:12]:  # 12 of 20 in 东区 at once: mass
                await set_state(conn, ids[s.mn], 600, worker=worker[s.mn])
            await set_state(conn, ids[west[0].mn], 600, worker=worker[west[0].mn])  # on its own
            await pump(svc, 1.5)
            bodies = webhooks.bodies("/wecom")
            texts = sorted(b["markdown"]["content"].split("\n")[0] for b in bodies)
            assert texts == [
                "### 【环境监测告警】大面积断线 · 东区：1 条新告警",
                "### 【环境监测告警】断线 · 西区：1 条新告警",
            ]
            assert "东区：12 个站点同时断线（共 20 个）" in next(
                b["markdown"]["content"] for b in bodies if "大面积" in b["markdown"]["content"]
            )
            inhibited = await conn.fetchval(
                "SELECT count(*) FROM alerts WHERE rule = 'offline' AND inhibited_by IS NOT NULL"
            )
            assert inhibited == 12
            # the region recovers: one recovery notice for the grouped alert; the stations
            # that were never notified say nothing
            for s in east[:12]:
                await set_state(conn, ids[s.mn], 0, connected=True, worker=worker[s.mn])
            await pump(svc, 1.5)
            bodies = webhooks.bodies("/wecom")
            assert len(bodies) == 3
            assert bodies[2]["markdown"]["content"].startswith(
                "### 【环境监测告警·已恢复】大面积断线 · 东区"
            )
    finally:
        await conn.close()


async def test_silence_mutes_then_notifies_if_still_firing(
    db_dsn: str, webhooks: Hooks, pg_reachable_tmp: Path
) -> None:
    ids = await register(db_dsn, station(1, "西湖区"))
    sid = next(iter(ids.values()))
    settings = alert_settings(
        db_dsn,
        pg_reachable_tmp,
        offline_after_s=60,
        group_wait_s=0,
        group_interval_s=0,
        catchup_s=0,
    )
    conn = await connect(db_dsn)
    try:
        rid = await api.create_receiver(
            conn, name="hook", kind="webhook", address=webhooks.url + "/h"
        )
        await api.add_responsibility(
            conn, receiver_id=rid, role="maintainer", scope="station", scope_key=sid
        )
        silence = await api.create_silence(
            conn,
            matchers={"station": [sid]},
            ends_at=datetime.now(UTC) + timedelta(hours=2),
            created_by="张三",
            comment="现场维护",
        )
        await set_state(conn, sid, 600)
        async with AlertService(settings, db_dsn) as svc:
            await wait_for(lambda: _is_set(svc))
            await pump(svc, 0.8)
            assert webhooks.requests == []
            page = await api.list_alerts(conn, states=["firing"])
            assert page.total == 1  # the alert is visible while its notices are muted
            await api.expire_silence(conn, silence, user="张三")
            await wait_for(lambda: _pumped_hooks(svc, webhooks, 1), timeout=5)
            assert webhooks.bodies("/h")[0]["status"] == "firing"
    finally:
        await conn.close()


async def _is_set(svc: AlertService) -> bool:
    return svc.config is not None and bool(svc.config.silences)


async def _pumped_hooks(svc: AlertService, hooks: Hooks, n: int) -> bool:
    await svc.dispatch()
    return len(hooks.requests) >= n


async def test_daily_ranking_push(
    db_dsn: str, webhooks: Hooks, pg_reachable_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 08:30 job calls aggregates.jobs.run_daily_ranking, then pushes yesterday's rows,
    ranked by AQCI, to each station's responsible people — once per day and receiver."""
    ids = await register(db_dsn, station(1, "西湖区"), station(2, "西湖区"), station(3, "滨江区"))
    s1 = ids[station(1, "").mn]
    settings = alert_settings(db_dsn, pg_reachable_tmp, catchup_s=0)
    day = datetime.now(SH).date() - timedelta(days=1)
    calls: list[object] = []

    async def fake_ranking(pool: object, settings: object, day: object = None) -> int:
        """Stands in for aggregates.jobs.run_daily_ranking: writes the day's rows."""
        calls.append(day)
        rows = [
            ("station", station(1, "").mn, "站点1", 2, 80, 2, ["PM2.5"], 3.5, True),
            ("station", station(2, "").mn, "站点2", 1, 45, 1, [], 2.1, True),
            ("station", station(3, "").mn, "站点3", None, None, None, [], None, False),
            ("region", "西湖区", "西湖区", 1, 70, 2, ["PM2.5"], 3.0, True),
            ("region", "滨江区", "滨江区", 2, 90, 2, ["O3"], 4.0, True),
        ]
        async with pool.acquire() as conn:  # type: ignore[attr-defined]
            await conn.execute("DELETE FROM daily_rankings WHERE day = $1", yesterday)
            await conn.executemany(
                "INSERT INTO daily_rankings (day, scope, scope_key, scope_name, rank, aqi,"
                " level, primary_pollutants, aqci, valid)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                [(yesterday, *r) for r in rows],
            )
        return len(rows)

    yesterday = day
    monkeypatch.setattr(ranking, "run_daily_ranking", fake_ranking)
    conn = await connect(db_dsn)
    try:
        a = await api.create_receiver(
            conn, name="站长", kind="webhook", address=webhooks.url + "/a"
        )
        b = await api.create_receiver(
            conn, name="西湖区", kind="webhook", address=webhooks.url + "/b"
        )
        await api.add_responsibility(
            conn, receiver_id=a, role="maintainer", scope="station", scope_key=s1
        )
        await api.add_responsibility(
            conn, receiver_id=b, role="officer", scope="region", scope_key="西湖区"
        )
        async with AlertService(settings, db_dsn) as svc:
            assert await svc.daily_ranking() == 2
            assert await svc.daily_ranking() == 0  # never twice for one day
            assert calls == [None, None]  # day=None: the aggregates job's own default
            await wait_for(lambda: _true(len(webhooks.requests) >= 2))
            await asyncio.sleep(0.2)
        (body_a,) = webhooks.bodies("/a")
        (body_b,) = webhooks.bodies("/b")
        assert body_a["kind"] == "ranking" and body_a["day"] == day.isoformat()
        assert [(ln["name"], ln["rank"]) for ln in body_a["ranking"]] == [("站点1", 2)]
        assert [(ln["scope"], ln["name"], ln["rank"]) for ln in body_b["ranking"]] == [
            ("region", "西湖区", 1),
            ("station", "站点2", 1),
            ("station", "站点1", 2),
        ]
        assert "第 2 名（共 3）" in body_a["text"] and "AQI 80（良）" in body_a["text"]
        # ranked by AQCI (the stored ranks are by AQI); rows stored without a standard name
        # the table in force that day; the ranking rules' "未核实" mark (HJ 663—2026) goes
        # with the push while they are unverified
        assert "综合指数 3.50" in body_a["text"]
        code = default_registry().aqi_table(day).code
        assert body_a["ranking"][0]["standard"] == code and f"AQI 按 {code} 日报" in body_a["text"]
        aqci = default_registry().aqci(day)
        assert ("未核实" in body_a["text"]) == bool(aqci.unverified())
    finally:
        await conn.close()


async def _true(value: bool) -> bool:
    return value
