"""End to end, every piece real: HJ 212 frames from a station over TCP → the ingest worker
→ PostgreSQL → the alert engine (its own process object, as ``envgrid serve`` runs it)
fires an exceedance → the web app's alert → case bridge (started by the app as in
production) and the case jobs (run here as the deployment's scheduler runs them) open a case in the station's grid and
dispatches it to the grid's unit, whose people are told through the alert notifiers →
through the HTTP API the unit takes it and reports back with a photo, the monitor centre
sends the check, the grid member passes it, the centre closes it → the month's
assessment counts it closed on time.  The same jobs generate the day's patrol task of a
plan made before the app started.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer

from alerts import api
from envgrid.leader import running_leader
from envgrid.settings import Settings
from protocol import encode_upload
from store.db import connect
from store.engine import EngineInfo
from store.prepare import seed_factors
from store.stations import NewStation, add_stations
from tests.alerts.conftest import Hooks, webhooks  # noqa: F401 - fixture
from tests.alerts.test_integration import ingest
from tests.ingest.conftest import StationClient
from tests.web.casework.conftest import JPEG, build_world
from tests.web.casework.web_fixture import WebSeed, call, case_settings, seed_logins, upload
from web.app import create_app
from web.casework.patrol.service import PlanInput, create_plan

SH = ZoneInfo("Asia/Shanghai")
STATION = NewStation(
    "AQ00000000000000000000E1", "123456", "一号桥站", "22", 30.052, 120.048, "区一"
)
PM25 = [40, 48, 92, 96, 101, 94, 88, 60, 45, 40, 38, 36]  # above the 75 limit, then back


def frame(i: int, t0: datetime, pm25: float) -> bytes:
    ts = t0 + timedelta(seconds=30 * i)
    values = {
        "a34004": {"Rtd": f"{pm25:.1f}", "Flag": "N"},
        "a34002": {"Rtd": f"{70 + i % 3:.1f}", "Flag": "N"},
        "a21004": {"Rtd": f"{30 + i % 4:.1f}", "Flag": "N"},
    }
    return encode_upload(
        2011, st="22", mn=STATION.mn, pw=STATION.password, qn=ts.strftime("%Y%m%d%H%M%S000"),
        data_time=ts.strftime("%Y%m%d%H%M%S"), values=values, ack=False,
    )  # fmt: skip


async def until(probe: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_station_exceeds_to_closed_case_counted_on_time(
    db_dsn: str,
    engine_info: EngineInfo,
    pg_reachable_tmp: Path,
    aiohttp_server: Callable[..., Any],
    aiohttp_client: Callable[..., Any],
    webhooks: Hooks,  # noqa: F811
) -> None:
    conn = await connect(db_dsn)
    try:
        await seed_factors(conn)
        world = await build_world(conn)
        seed: WebSeed = await seed_logins(conn, world)
        await add_stations(conn, [STATION])
        station_id = await conn.fetchval("SELECT id FROM stations WHERE mn = $1", STATION.mn)
        await api.set_limit(
            conn, factor_code="a34004", level="station", scope_key=station_id, upper=75.0,
            source="站点限值", user="t",
        )  # fmt: skip
        # the unit's handler hears of dispatches through a webhook receiver
        hook = await api.create_receiver(
            conn, name="生态环境分局值班群", kind="webhook", address=webhooks.url + "/unit"
        )
        await conn.execute(
            "UPDATE grid_people SET receiver_id = $2 WHERE id = $1", world.people["H"], hook
        )
        # a daily patrol of the grid: the scheduler's patrol-tasks job generates today's task
        await create_plan(
            conn, PlanInput("网格一日巡", "daily", date.today(), area_id=world.areas["G1"],
                            assignee_duty="member"),
        )  # fmt: skip
    finally:
        await conn.close()

    settings = case_settings(
        db_dsn,
        pg_reachable_tmp,
        **{
            "alerts.flush_ms": 50,
            "alerts.dispatch_interval_s": 0.1,
            "alerts.catchup_s": 0,
            "alerts.offline_after_s": 3600,
            # the story is the case path: judge each real-time value (the means are
            # tested in tests/alerts/test_means*.py)
            "alerts.exceedance_basis": "rtd",
            "cases.notice_interval_s": 0.3,
            "cases.sweep_interval_s": 1.0,
        },
    )
    server: TestServer = await aiohttp_server(create_app(settings, db_dsn))  # + the bridge
    client: TestClient = await aiohttp_client(server)
    # the alert engine and the one scheduler with every package's jobs, as `envgrid serve`
    async with running_leader(settings, db_dsn):
        await _story(client, seed, world, db_dsn, engine_info, pg_reachable_tmp, settings, webhooks)


async def _story(
    client: TestClient,
    seed: WebSeed,
    world: Any,
    db_dsn: str,
    engine_info: EngineInfo,
    pg_reachable_tmp: Path,
    settings: Settings,
    webhooks: Hooks,  # noqa: F811
) -> None:
    # the new station is placed in its grid by point-in-polygon (as `envgrid grid assign`)
    placed = await call(client, "POST", "/api/v1/grid/assign", seed, "admin", json={})
    assert placed["station"]["assigned"] == 1

    async def patrol() -> Any:
        return (await call(client, "GET", "/api/v1/patrol/tasks?mine=true", seed, "member"))[
            "items"
        ]

    [task] = await until(patrol, what="the generated patrol task")
    assert task["target"] == "area" and task["grid_name"] == "网格一"

    t0 = datetime.now(SH).replace(microsecond=0) - timedelta(hours=1)
    async with ingest(db_dsn, engine_info, pg_reachable_tmp / "ingest") as worker:
        station = await StationClient.open(worker.bound_port)
        try:
            for i, value in enumerate(PM25):
                await station.send(frame(i, t0, value))
                await asyncio.sleep(0.2)

            async def opened() -> Any:
                found = await call(client, "GET", "/api/v1/cases?source=alert", seed, "officer")
                return found["items"]

            [case] = await until(opened, what="the alert's case")
            # the case resolved its place: the station's grid, dispatched to the grid's unit
            assert case["grid_id"] == world.areas["G1"] and case["state"] == "dispatched"
            assert case["unit_name"] == "生态环境分局" and case["category"] == "env.exceedance"
            assert "一号桥站" in case["title"]
            # the unit's people were told through the alert notifiers (the webhook receiver)
            await until(lambda: _bodies(webhooks, "/unit"), what="the dispatch notice")
            [notice] = webhooks.bodies("/unit")
            assert notice["kind"] == "case_dispatch" and notice["case_id"] == case["id"]
            # the data recovered: the alert resolves, the case records 已恢复 and stays open
            await until(lambda: _note(client, seed, case["id"]), what="the recovery note")
        finally:
            await station.close()

    cid = case["id"]
    mine = await call(client, "GET", "/api/v1/cases/mine", seed, "handler")
    assert [c["id"] for c in mine["items"]] == [cid]
    for user, action, given in (
        ("handler", "take", {}),
        ("handler", "feedback", {"comment": "排查为道路扬尘，已洒水降尘并清扫"}),
        ("officer", "send_check", {}),
        ("member", "check_pass", {"comment": "现场复核，浓度已回落"}),
        ("officer", "close", {}),
    ):
        extra: dict[str, object] = dict(given)
        if action == "feedback":
            extra = {**extra, "photos": await upload(client, seed, "handler", JPEG)}
        await call(
            client, "POST", f"/api/v1/cases/{cid}/actions", seed, user,
            json={"action": action, **extra},
        )  # fmt: skip
    detail = await call(client, "GET", f"/api/v1/cases/{cid}", seed, "officer")
    assert detail["state"] == "archived" and not detail["handle_overdue"]
    steps = [e["action"] for e in detail["trail"] if e["action"] != "note"]
    assert steps == [
        "report", "accept", "file", "dispatch", "recovered", "take", "feedback", "send_check",
        "check_pass", "close", "archive",
    ]  # fmt: skip
    assert detail["recovered_at"] is not None and detail["close_kind"] is None
    feedback = next(e for e in detail["trail"] if e["action"] == "feedback")
    assert feedback["attachments"][0]["mime"] == "image/jpeg"

    view = await call(client, "GET", "/api/v1/assessment?group=unit", seed, "officer")
    [row] = view["rows"]
    assert (row["name"], row["due"], row["closed"], row["on_time"], row["overdue"]) == (
        "生态环境分局", 1, 1, 1, 0,
    )  # fmt: skip
    assert row["on_time_rate"] == 1.0
    grid = await call(client, "GET", "/api/v1/assessment?group=grid", seed, "officer")
    assert [(r["name"], r["on_time"]) for r in grid["rows"]] == [("网格一", 1)]


async def _bodies(hooks: Hooks, path: str) -> list[Any]:
    return hooks.bodies(path)


async def _note(client: TestClient, seed: WebSeed, case_id: int) -> bool:
    detail = await call(client, "GET", f"/api/v1/cases/{case_id}", seed, "officer")
    return any("告警已恢复" in e["comment"] for e in detail["trail"])
