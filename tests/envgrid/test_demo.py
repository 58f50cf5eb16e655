"""``envgrid demo load`` / ``clear`` against a real PostgreSQL: the sample city is complete
(five levels of areas, a login per role, stations with data, patrol tasks, cases in many
workflow states, alerts), a second load is refused, a database with real stations is
refused without --force, and clear removes exactly the demo rows — a real station, user
and case (with their data) survive untouched.  Plus the pure boundary generator."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from envgrid.cli import main
from envgrid.demo.clear import ClearError, clear_demo
from envgrid.demo.geometry import city_outline, split
from envgrid.demo.load import DemoError, load_demo
from envgrid.settings import Settings
from store.engine import Engine, EngineInfo
from store.partitions import PartitionCache
from store.prepare import seed_factors
from store.stations import add_station
from tests.webapp import add_login
from web.casework.cases import intake
from web.casework.cases.service import add_note
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.people import Actor, actor_for_person

#: the states the default workflow switches let the demo reach (核实/回访/立案 pass by)
EXPECTED_STATES = {
    "reported", "accepted", "dispatched", "returned", "handling", "extension_requested",
    "hang_requested", "hung", "feedback", "checking", "closing", "archived", "rejected",
    "cancelled",
}  # fmt: skip
ROLES = {"admin", "officer", "maintainer", "grid_member", "unit", "viewer"}


@pytest.mark.parametrize("seed", [1, 2, 20260212])
def test_boundaries_nest_without_overlap(seed: int) -> None:
    rng = random.Random(seed)
    city = city_outline(30.1, 120.6, 0.12, rng)
    assert city.is_valid
    for parent in [city, *split(city, 2, rng)]:
        children = split(parent, 2, rng)
        assert len(children) == 2
        for child in children:
            assert child.is_valid and child.area > 0
            assert child.difference(parent).area < 1e-5 * parent.area  # inside (snapping)
        assert children[0].intersection(children[1]).area < 1e-5 * parent.area  # no overlap
        assert abs(sum(c.area for c in children) - parent.area) < 0.02 * parent.area


def test_boundaries_are_deterministic() -> None:
    a = split(city_outline(30.1, 120.6, 0.12, random.Random(5)), 2, random.Random(6))
    b = split(city_outline(30.1, 120.6, 0.12, random.Random(5)), 2, random.Random(6))
    assert [p.wkt for p in a] == [p.wkt for p in b]


async def _real_world(conn: asyncpg.Connection, cfg: CaseConfig, engine: Engine) -> dict[str, int]:
    """A station with an hour of data, a user and a case that are not the demo's."""
    await seed_factors(conn)
    sid = await add_station(conn, "12345678901234", password="x", name="真实站", st="22")
    fid = await conn.fetchval("SELECT id FROM factors WHERE code = 'a34004'")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await PartitionCache(engine).ensure(conn, [("measurements_hour", now)])
    await conn.execute(
        "INSERT INTO measurements_hour (station_id, factor_id, ts, value, flag)"
        " VALUES ($1, $2, $3, 35.0, 'N')",
        sid,
        fid,
        now,
    )
    uid, _ = await add_login(conn, "real_officer", "officer")
    ref = await intake.create_case(
        conn, intake.NewCase("真实案件", "other", "manual"), Actor.system(), cfg, now=now
    )
    return {"station": sid, "user": uid, "case": ref.id}


SURVIVORS_SQL = """
SELECT (SELECT count(*) FROM stations WHERE id = $1) AS station,
       (SELECT count(*) FROM measurements_hour WHERE station_id = $1) AS hours,
       (SELECT count(*) FROM web_users WHERE id = $2) AS users,
       (SELECT count(*) FROM cases WHERE id = $3) AS cases,
       (SELECT count(*) FROM case_events WHERE case_id = $3) AS events
"""


async def test_load_then_clear_exactly(
    db_conn: asyncpg.Connection, db_settings: Settings, db_dsn: str, engine_info: EngineInfo
) -> None:
    cfg = CaseConfig.from_settings(db_settings)
    real = await _real_world(db_conn, cfg, engine_info.engine)
    before = dict(
        await db_conn.fetchrow(SURVIVORS_SQL, real["station"], real["user"], real["case"])
    )
    with pytest.raises(DemoError, match="real station"):
        await load_demo(db_dsn, db_settings)
    report = await load_demo(db_dsn, db_settings, force=True)

    levels = await db_conn.fetch(
        "SELECT level, count(*) AS n FROM areas WHERE code LIKE 'DEMO%' GROUP BY level ORDER BY 1"
    )
    assert [(r["level"], r["n"]) for r in levels] == [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16)]
    roles = {r for r, _ in report.city.logins.values()}
    assert roles >= ROLES
    assert set(report.case_states) >= EXPECTED_STATES, report.case_states
    assert report.tasks >= 4 and report.alerts == 3
    ids = [s[0] for s in report.city.stations]
    hours = await db_conn.fetchval(
        "SELECT count(DISTINCT (station_id, ts)) FROM measurements_hour WHERE station_id = ANY($1)",
        ids,
    )
    assert hours >= len(ids) * 70
    latest = await db_conn.fetchval(
        "SELECT count(*) FROM station_state WHERE station_id = ANY($1) AND latest <> '{}'", ids
    )
    assert latest == len(ids)
    assert await db_conn.fetchval(
        "SELECT count(*) FROM daily_values WHERE station_id = ANY($1)", ids
    )
    assert await db_conn.fetchval(
        "SELECT count(*) FROM stations WHERE id = ANY($1) AND grid_id IS NOT NULL", ids
    ) == len(ids)
    with pytest.raises(DemoError, match="already loaded"):
        await load_demo(db_dsn, db_settings, force=True)

    cleared = await clear_demo(db_conn, engine_info.engine, cfg.uploads_dir)
    assert cleared.removed["station"] == len(ids) and cleared.data_rows > 0
    after = dict(await db_conn.fetchrow(SURVIVORS_SQL, real["station"], real["user"], real["case"]))
    assert after == before
    left = await db_conn.fetchrow(
        """SELECT (SELECT count(*) FROM areas) AS areas,
                  (SELECT count(*) FROM stations WHERE mn LIKE '9999%') AS stations,
                  (SELECT count(*) FROM web_users WHERE username LIKE 'demo_%') AS users,
                  (SELECT count(*) FROM grid_people) AS people,
                  (SELECT count(*) FROM grid_units) AS units,
                  (SELECT count(*) FROM cases) AS cases,
                  (SELECT count(*) FROM patrol_plans) AS plans,
                  (SELECT count(*) FROM patrol_points) AS points,
                  (SELECT count(*) FROM measurements_hour WHERE station_id = ANY($1)) AS hours,
                  (SELECT count(*) FROM packet_ledger WHERE station_id = ANY($1)) AS ledger,
                  (SELECT count(*) FROM daily_values WHERE station_id = ANY($1)) AS daily,
                  (SELECT count(*) FROM demo_objects) AS marks""",
        ids,
    )
    assert dict(left) == {
        "areas": 0, "stations": 0, "users": 0, "people": 0, "units": 0, "cases": 1, "plans": 0,
        "points": 0, "hours": 0, "ledger": 0, "daily": 0, "marks": 0,
    }  # fmt: skip
    assert not any(cfg.uploads_dir.rglob("*.jpg"))


def test_cli_refuses_next_to_real_stations(
    db_dsn: str,
    pg_reachable_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    from store.db import connect

    async def one_station() -> None:
        conn = await connect(db_dsn)
        try:
            await add_station(conn, "12345678901234", password="x", name="真实站", st="22")
        finally:
            await conn.close()

    asyncio.run(one_station())
    monkeypatch.setenv("ENVGRID_CORE__DATA_DIR", str(pg_reachable_tmp))
    assert main(["demo", "--dsn", db_dsn, "load"]) == 2
    err = capsys.readouterr().err
    assert "real station" in err and "--force" in err
    assert main(["demo", "--dsn", db_dsn, "clear"]) == 0
    assert "no demo data" in capsys.readouterr().out


async def test_clear_refuses_when_real_rows_need_demo_rows(
    db_conn: asyncpg.Connection, db_settings: Settings, db_dsn: str, engine_info: EngineInfo
) -> None:
    """A real case whose (append-only) trail names the demo officer keeps the demo in use:
    clear removes nothing and says why."""
    cfg = CaseConfig.from_settings(db_settings)
    report = await load_demo(db_dsn, db_settings)
    now = datetime.now(UTC)
    ref = await intake.create_case(
        db_conn, intake.NewCase("真实案件", "other", "manual"), Actor.system(), cfg, now=now
    )
    officer = await actor_for_person(db_conn, report.city.people["officer"])
    await add_note(db_conn, ref.id, officer, cfg, now=now, comment="演示人员的备注")
    marks = await db_conn.fetchval("SELECT count(*) FROM demo_objects")
    with pytest.raises(ClearError, match="nothing removed"):
        await clear_demo(db_conn, engine_info.engine, cfg.uploads_dir)
    assert await db_conn.fetchval("SELECT count(*) FROM demo_objects") == marks
    assert await db_conn.fetchval("SELECT count(*) FROM stations") == len(report.city.stations)
