"""The simulators (``envgrid simulate``) with faults, through the real ingest worker and
database, checked against their ground-truth fault log: every detectable fault raises
its alert, and every alert is explained by a fault (no false alarms on realistic data).

Fleets of two stations each run with one kind of fault (offline, stuck, exceed, jump)
plus a fault-free control fleet, on a clock 120 × faster than real time (30 s samples
every 0.25 s; the 15-minute offline rule becomes 5 s, a 20-minute power-off 10 s).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts import api
from envgrid.leader import running_leader
from simulators import FleetConfig, parse_faults, run_fleet
from store.db import connect
from store.engine import EngineInfo
from store.stations import NewStation

from .conftest import Hooks, SmtpServer, alert_settings, register
from .test_integration import ingest

SCALE = 120.0
DURATION = 26.0
#: a clean summer dawn (simulated): neither haze (PM) nor afternoon ozone, so that every
#: exceedance comes from an injected episode and the ground truth stays exact
START = datetime(2026, 7, 10, 4, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
LIMITED = {"a21026", "a21004", "a21005", "a05024", "a34002", "a34004"}
FLEETS = [
    ("offline:0.08", 11, 0),
    ("stuck:0.05", 12, 10),
    ("exceed:0.03", 13, 20),
    ("jump:0.04", 14, 30),
    ("", 15, 40),  # control: no faults, no alerts
]


def fleet(port: int, faults: str, seed: int, first: int) -> FleetConfig:
    return FleetConfig(
        port=port,
        stations=2,
        first_index=first,
        seed=seed,
        st=("22",),
        time_scale=SCALE,
        duration=DURATION,
        rtd_interval=30,
        status_every=0,
        phase=5.0,
        drain=1.0,
        faults=parse_faults(faults),
        start_time=START,
        uvloop=False,
    )


@pytest.mark.slow
async def test_simulated_faults_match_the_alerts(
    db_dsn: str,
    engine_info: EngineInfo,
    pg_reachable_tmp: Path,
    smtp_server: SmtpServer,
    webhooks: Hooks,
) -> None:
    configs = [fleet(1, f, s, i) for f, s, i in FLEETS]
    identities = [ident for c in configs for ident in c.identities()]
    ids = await register(
        db_dsn,
        *(NewStation(i.mn, i.pw, i.name, i.st, i.lat, i.lon, i.region_name) for i in identities),
    )
    conn = await connect(db_dsn)
    try:
        ops = await api.create_receiver(conn, name="运维组", kind="email", address="ops@x.cn")
        await api.add_responsibility(conn, receiver_id=ops, role="maintainer", scope="all")
        officers = await api.create_receiver(
            conn,
            name="监管群",
            kind="dingtalk",
            address=webhooks.url + "/robot/send?access_token=t",
            secret="SECx",
        )
        await api.add_responsibility(conn, receiver_id=officers, role="officer", scope="all")
        # the limits the simulator's exceed fault is built on (GB 3095-2012 grade II)
        await api.set_limit(
            conn, factor_code="a34004", level="st", scope_key="22", upper=75.0, user="t"
        )
        await api.set_limit(
            conn, factor_code="a34002", level="st", scope_key="22", upper=150.0, user="t"
        )
    finally:
        await conn.close()
    settings = alert_settings(
        db_dsn,
        pg_reachable_tmp / "alerts",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        offline_after_s=5,
        offline_disconnect_grace_s=0,
        sweep_interval_s=0.5,
        dispatch_interval_s=0.1,
        flatline_count=12,
        flatline_s=0,
        group_wait_s=0.3,
        group_interval_s=0.5,
        max_messages_per_receiver=1000,  # the compressed clock sends a day's worth a minute
        flush_ms=50,
        catchup_s=0,
    )
    async with (
        ingest(db_dsn, engine_info, pg_reachable_tmp / "ingest") as worker,
        running_leader(settings, db_dsn),
    ):
        results = await asyncio.gather(
            *(run_fleet(fleet(worker.bound_port, f, s, i)) for f, s, i in FLEETS)
        )
        await asyncio.sleep(1.5)  # the last transitions and messages
    # read after the engine stopped (its stop sends what is still queued)
    conn = await connect(db_dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, rule, state, labels->>'mn' AS mn,"
            " COALESCE(labels->>'factor_code', '') AS factor, fired_at IS NOT NULL AS fired"
            " FROM alerts"
        )
        deliveries = await conn.fetch(
            "SELECT alert_id, firing_at IS NOT NULL AS told FROM alert_deliveries"
        )
        log = await conn.fetch("SELECT receiver_name, status, kind FROM alert_notifications")
    finally:
        await conn.close()
    events: list[dict[str, Any]] = [e for r in results for e in r.faults["events"]]
    assert {e["kind"] for e in events} >= {"offline", "stuck", "exceed", "jump"}, events
    fired = [r for r in rows if r["fired"]]

    def explained(alert: Any) -> bool:
        mine = [e for e in events if e["mn"] == alert["mn"]]
        same = [e for e in mine if e.get("factor") == alert["factor"]]
        rule = alert["rule"]
        if rule == "offline":
            return any(e["kind"] == "offline" for e in mine)
        if rule == "flatline":
            return any(e["kind"] == "stuck" for e in same)
        if rule == "exceedance":
            return any(e["kind"] == "exceed" for e in same)
        if rule == "jump":  # a step into or out of an episode is a jump too
            return any(e["kind"] in ("jump", "exceed", "stuck") for e in same)
        return False

    false_alarms = [dict(r) for r in fired if not explained(r)]
    assert false_alarms == [], "\n".join(str(a) for a in false_alarms)

    def detected(event: dict[str, Any]) -> bool:
        mine = [r for r in fired if r["mn"] == event["mn"]]
        kind = event["kind"]
        if kind == "offline":
            return any(r["rule"] == "offline" for r in mine)
        rule = {"stuck": "flatline", "exceed": "exceedance", "jump": "jump"}[kind]
        return any(r["rule"] == rule and r["factor"] == event["factor"] for r in mine)

    def detectable(event: dict[str, Any]) -> bool:
        late = event.get("at_real_s", 0.0) > DURATION - {"offline": 8, "stuck": 5}.get(
            event["kind"], 2
        )
        if late or event["kind"] not in ("offline", "stuck", "exceed", "jump"):
            return False
        return event["kind"] == "offline" or event.get("factor") in LIMITED

    missed = [e for e in events if detectable(e) and not detected(e)]
    assert missed == [], (missed, [dict(r) for r in rows])
    assert [e for e in events if detectable(e)], "no detectable fault happened: adjust the seeds"

    # every alert that fired was told to somebody; every message was delivered, once
    told = {d["alert_id"] for d in deliveries if d["told"]}
    assert {r["id"] for r in fired} <= told
    assert all(r["status"] == "sent" for r in log), [dict(r) for r in log if r["status"] != "sent"]
    assert len(smtp_server.mailbox.messages) == sum(
        1 for r in log if r["receiver_name"] == "运维组"
    )
    assert len(webhooks.requests) == sum(1 for r in log if r["receiver_name"] == "监管群")
    control = {i.mn for i in configs[-1].identities()}
    assert not [r for r in rows if r["mn"] in control]
    assert ids  # registered
