"""End to end: HJ 212 frames → the real ingest worker → PostgreSQL → NOTIFY →
the alert engine (with its scheduled jobs) → a real SMTP server and a local webhook receiver.

Four stations of one district run with faults on a compressed clock (one sample per
0.25 s real; DataTime advances 30 s per sample; 1 s real ≈ 5 min of the 15-minute
offline rule):

* A: a PM2.5 exceedance episode (a ramp above a 75 µg/m³ station limit and back);
* B: unplugged — silent for longer than the offline threshold, then back;
* C: a stuck SO2 sensor (the same value, 16 samples);
* D: a single NO2 spike (jump).

Maintainers (email) get offline, flatline and jump; officers (WeCom group robot) get the
exceedance.  Each receiver gets exactly one firing and one recovery message per fault —
no more — and the database holds exactly those four alerts, resolved.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts import api
from envgrid.leader import running_leader
from ingest.server import IngestWorker
from protocol import encode_upload
from store.db import connect
from store.engine import EngineInfo
from store.stations import NewStation
from tests.ingest.conftest import StationClient, make_settings

from .conftest import Hooks, SmtpServer, alert_settings, register, wait_for

SH = ZoneInfo("Asia/Shanghai")
PERIOD = 0.25  # real seconds per sample
STEP = 30  # simulated seconds per sample

A = NewStation("AQ000000000000000000000A", "123456", "湖滨站", "22", 30.25, 120.16, "西湖区")
B = NewStation("AQ000000000000000000000B", "123456", "灵隐站", "22", 30.24, 120.10, "西湖区")
C = NewStation("AQ000000000000000000000C", "123456", "转塘站", "22", 30.16, 120.08, "西湖区")
D = NewStation("AQ000000000000000000000D", "123456", "留下站", "22", 30.24, 120.05, "西湖区")
BASE = {
    "a21026": 9.0,
    "a21004": 32.0,
    "a21005": 0.7,
    "a05024": 70.0,
    "a34002": 62.0,
    "a34004": 36.0,
}
RAMP = [45, 55, 70, 80, 90, 95, 90, 80, 70, 55, 45]  # PM2.5 around a 75 limit
OFFLINE = range(20, 48)  # samples B does not send (7 s real > 4 s threshold)
STUCK = range(4, 20)  # C's SO2 repeats one value
SPIKE = 52  # D's NO2 × 4.5 once


def values(station: str, i: int) -> dict[str, dict[str, str]]:
    out = {}
    for k, (code, base) in enumerate(BASE.items()):
        # a smooth, never-repeating signal: no flatline, no jump
        v = base * (1 + 0.04 * math.sin(0.7 * i + k) + 0.001 * (i % 5))
        if station == "A" and code == "a34004" and 10 <= i < 10 + len(RAMP):
            v = RAMP[i - 10]
        if station == "C" and code == "a21026" and i in STUCK:
            v = 18.0
        if station == "D" and code == "a21004" and i == SPIKE:
            v = base * 4.5
        out[code] = {"Rtd": f"{v:.3f}", "Flag": "N"}
    return out


def frame(st: NewStation, name: str, i: int, t0: datetime) -> bytes:
    ts = t0 + timedelta(seconds=STEP * i)
    return encode_upload(
        2011,
        st="22",
        mn=st.mn,
        pw="123456",
        qn=ts.strftime("%Y%m%d%H%M%S") + "000",
        data_time=ts.strftime("%Y%m%d%H%M%S"),
        values=values(name, i),
        ack=False,
    )


@contextlib.asynccontextmanager
async def ingest(dsn: str, engine: EngineInfo, data_dir: Path) -> AsyncIterator[IngestWorker]:
    worker = IngestWorker(make_settings(data_dir, dsn), dsn, engine.engine)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


@pytest.mark.slow
async def test_faults_through_server_and_database_give_exactly_the_expected_messages(
    db_dsn: str,
    engine_info: EngineInfo,
    pg_reachable_tmp: Path,
    smtp_server: SmtpServer,
    webhooks: Hooks,
) -> None:
    ids = await register(db_dsn, A, B, C, D)
    conn = await connect(db_dsn)
    try:
        maint = await api.create_receiver(conn, name="运维组", kind="email", address="ops@x.cn")
        await api.add_responsibility(
            conn, receiver_id=maint, role="maintainer", scope="region", scope_key="西湖区"
        )
        officers = await api.create_receiver(
            conn, name="监管群", kind="wecom", address=webhooks.url + "/cgi-bin/webhook/send?key=k"
        )
        await api.add_responsibility(
            conn, receiver_id=officers, role="officer", scope="region", scope_key="西湖区"
        )
        await api.set_limit(
            conn,
            factor_code="a34004",
            level="station",
            scope_key=ids[A.mn],
            upper=75.0,
            source="站点限值",
            user="t",
        )
    finally:
        await conn.close()
    settings = alert_settings(
        db_dsn,
        pg_reachable_tmp / "alerts",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        offline_after_s=4,  # ≈ 15 min at this time scale
        offline_disconnect_grace_s=0,
        sweep_interval_s=0.5,
        dispatch_interval_s=0.1,
        flatline_count=10,
        flatline_s=0,
        group_wait_s=0.3,
        group_interval_s=0.5,
        flush_ms=50,
        catchup_s=0,
    )
    t0 = datetime.now(SH).replace(microsecond=0) - timedelta(hours=1)
    stop = asyncio.Event()
    sent: dict[str, int] = {}
    sent_at: dict[tuple[str, int], float] = {}  # wall time each frame left the station

    async def station(client: StationClient, st: NewStation, name: str) -> None:
        i = 0
        while not stop.is_set():
            if not (name == "B" and i in OFFLINE):
                sent_at[(name, i)] = time.time()
                await client.send(frame(st, name, i, t0))
                sent[name] = sent.get(name, 0) + 1
            i += 1
            await asyncio.sleep(PERIOD)

    async with (
        ingest(db_dsn, engine_info, pg_reachable_tmp / "ingest") as worker,
        running_leader(settings, db_dsn) as svc,
    ):
        clients = {n: await StationClient.open(worker.bound_port) for n in "ABCD"}
        tasks = [
            asyncio.create_task(station(clients[n], st, n))
            for n, st in zip("ABCD", (A, B, C, D), strict=True)
        ]
        mail, robot = smtp_server.mailbox, webhooks
        try:
            # 4 maintainer emails firing + 3 recoveries … wait for all six, then the two robots
            await wait_for(lambda: _enough(mail.messages, 6), timeout=40)
            await wait_for(lambda: _enough(robot.requests, 2), timeout=10)
            await asyncio.sleep(2.0)  # nothing more may come
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            for client in clients.values():
                await client.close()
        subjects = sorted(mail.subjects())
        assert subjects == sorted(
            [
                "【环境监测告警】断线 · 西湖区：1 条新告警",
                "【环境监测告警·已恢复】断线 · 西湖区：1 条告警已恢复",
                "【环境监测告警】恒值 · 西湖区：1 条新告警",
                "【环境监测告警·已恢复】恒值 · 西湖区：1 条告警已恢复",
                "【环境监测告警】突变 · 西湖区：1 条新告警",
                "【环境监测告警·已恢复】突变 · 西湖区：1 条告警已恢复",
            ]
        ), mail.subjects()
        assert all(rcpt == ["ops@x.cn"] for _, rcpt in mail.envelopes)
        texts = [b["markdown"]["content"] for b in robot.bodies("/cgi-bin/webhook/send?key=k")]
        assert [t.split("\n")[0] for t in texts] == [
            "### 【环境监测告警】超标 · 西湖区：1 条新告警",
            "### 【环境监测告警·已恢复】超标 · 西湖区：1 条告警已恢复",
        ]
        assert (
            "湖滨站（西湖区）" in texts[0]
            and "超标：90 µg/m³，上限 75 µg/m³（站点限值）" in texts[0]
        )
        body = {m["Subject"]: mail.text(m) for m in mail.messages}
        assert "转塘站（西湖区） 二氧化硫恒值" in body["【环境监测告警】恒值 · 西湖区：1 条新告警"]
        assert "留下站（西湖区） 二氧化氮突变" in body["【环境监测告警】突变 · 西湖区：1 条新告警"]
        assert "灵隐站（西湖区） 断线" in body["【环境监测告警】断线 · 西湖区：1 条新告警"]

        page = await api.list_alerts(svc.pool, include_unfired=True)  # type: ignore[arg-type]
        got = sorted(
            (a.rule, a.labels.get("station_name"), a.labels.get("factor_code", ""), a.state)
            for a in page.items
        )
        assert got == [
            ("exceedance", "湖滨站", "a34004", "resolved"),
            ("flatline", "转塘站", "a21026", "resolved"),
            ("jump", "留下站", "a21004", "resolved"),
            ("offline", "灵隐站", "", "resolved"),
        ]
        exc = next(a for a in page.items if a.rule == "exceedance")
        assert exc.threshold == 75.0 and exc.labels["source"] == "站点限值"
        # raised within 5 s of the frame that triggered it (frame sent → firing committed)
        fired_at = {
            r["rule"]: r["at"].timestamp()
            for r in await svc.pool.fetch(  # type: ignore[union-attr]
                "SELECT a.rule, e.at FROM alert_events e JOIN alerts a ON a.id = e.alert_id"
                " WHERE e.kind = 'firing'"
            )
        }
        first_breach = 10 + next(k for k, v in enumerate(RAMP) if v > 75)
        delays = {
            "exceedance": fired_at["exceedance"] - sent_at[("A", first_breach + 1)],
            "flatline": fired_at["flatline"] - sent_at[("C", STUCK.start + 9)],
            "jump": fired_at["jump"] - sent_at[("D", SPIKE)],
        }
        assert all(0 < d < 5 for d in delays.values()), delays
        log = await api.list_notifications(svc.pool)  # type: ignore[arg-type]
        assert {r["status"] for r in log.items} == {"sent"} and len(log.items) == 8


async def _enough(items: list[Any], n: int) -> bool:
    return len(items) >= n
