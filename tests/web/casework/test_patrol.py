"""Patrol: plan → tasks (idempotent), overdue, check-in distance flag, checklist, hazards
with rectify/review rounds, statistics."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import pytest

from tests.web.casework.conftest import NOW, TZ, World
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.people import Role
from web.casework.patrol import hazards
from web.casework.patrol.cycle import Period, period_at
from web.casework.patrol.service import (
    CheckResult,
    PatrolError,
    PlanInput,
    check_in,
    create_plan,
    generate_patrol_tasks,
    mark_overdue,
    submit_checklist,
    tasks_for_person,
)
from web.casework.patrol.stats import patrol_stats

MON = date(2024, 3, 4)


@pytest.mark.parametrize(
    ("cycle", "day", "every", "expected"),
    [
        ("daily", date(2024, 3, 6), None, (date(2024, 3, 6), date(2024, 3, 7))),
        ("weekly", date(2024, 3, 6), None, (date(2024, 3, 4), date(2024, 3, 11))),
        ("weekly", date(2024, 3, 4), None, (date(2024, 3, 4), date(2024, 3, 11))),
        ("monthly", date(2024, 3, 31), None, (date(2024, 3, 4), date(2024, 4, 1))),  # clipped
        ("monthly", date(2024, 12, 5), None, (date(2024, 12, 1), date(2025, 1, 1))),
        ("custom", date(2024, 3, 10), 3, (date(2024, 3, 10), date(2024, 3, 13))),
        ("custom", date(2024, 3, 9), 3, (date(2024, 3, 7), date(2024, 3, 10))),
    ],
)
def test_periods(cycle: str, day: date, every: int | None, expected: tuple[date, date]) -> None:
    assert period_at(cycle, day, start_date=MON, every_days=every) == Period(*expected)


def test_period_edges() -> None:
    assert period_at("daily", date(2024, 3, 3), start_date=MON) is None
    assert period_at("weekly", date(2024, 3, 6), start_date=MON, end_date=date(2024, 3, 7)) == (
        Period(MON, date(2024, 3, 8))
    )
    p = Period(MON, date(2024, 3, 11))
    assert p.due(TZ, 48) == datetime(2024, 3, 6, tzinfo=TZ)
    assert p.due(TZ, None) == datetime(2024, 3, 11, tzinfo=TZ)
    assert p.due(TZ, 1000) == datetime(2024, 3, 11, tzinfo=TZ)
    with pytest.raises(ValueError, match="every_days"):
        period_at("custom", MON, start_date=MON)


async def station_plan(conn: asyncpg.Connection, world: World, **kw: object) -> int:
    fields = {
        "name": "一号站周巡查",
        "cycle": "weekly",
        "start_date": MON,
        "station_ids": [world.station],
        "due_hours": 48,
        "assignee_duty": "member",
        **kw,
    }
    return await create_plan(conn, PlanInput(**fields))  # type: ignore[arg-type]


async def test_generation_is_idempotent(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    await station_plan(db_conn, world)
    await create_plan(
        db_conn,
        PlanInput(
            "网格三日巡",
            "daily",
            MON,
            area_id=world.areas["G3"],
            assignee_person_id=world.people["GM2"],
        ),
    )
    await create_plan(
        db_conn,
        PlanInput(
            "三日巡", "custom", MON, area_id=world.areas["G2"], every_days=3, assignee_duty="head"
        ),
    )
    assert await generate_patrol_tasks(db_pool, NOW, config) == 3
    assert await generate_patrol_tasks(db_pool, NOW + timedelta(hours=3), config) == 0
    tasks = await db_conn.fetch("SELECT * FROM patrol_tasks ORDER BY id")
    station_task = tasks[0]
    assert station_task["assignee_person_id"] == world.people["GM"]  # the grid's member
    assert station_task["grid_id"] == world.areas["G1"]
    assert station_task["due_at"] == datetime(2024, 3, 6, tzinfo=TZ)
    codes = [i["code"] for i in station_task["check_items"]]
    assert codes == ["site_env", "power", "device", "network", "signage", "inlet", "calibration"]
    assert tasks[1]["target"] == "area" and tasks[1]["assignee_person_id"] == world.people["GM2"]
    # G2 has no head: the nearest head up the hierarchy — none configured → unassigned
    assert tasks[2]["assignee_person_id"] is None
    # the next day: a new daily task only; next week: all three again
    assert await generate_patrol_tasks(db_pool, NOW + timedelta(days=1), config) == 1
    assert await generate_patrol_tasks(db_pool, NOW + timedelta(days=7), config) == 3
    with pytest.raises(PatrolError, match="须指定区域、站点或巡查点"):
        await create_plan(db_conn, PlanInput("空", "daily", MON, assignee_duty="member"))
    with pytest.raises(PatrolError, match="间隔天数"):
        await create_plan(
            db_conn,
            PlanInput("x", "custom", MON, area_id=world.areas["G1"], assignee_duty="member"),
        )


async def test_overdue_marking_is_idempotent(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    await station_plan(db_conn, world)
    await generate_patrol_tasks(db_pool, NOW, config)
    assert await mark_overdue(db_pool, datetime(2024, 3, 5, 23, tzinfo=TZ), config) == 0
    due = datetime(2024, 3, 6, 0, 1, tzinfo=TZ)
    assert await mark_overdue(db_pool, due, config) == 1
    assert await mark_overdue(db_pool, due + timedelta(hours=1), config) == 0
    notices = await db_conn.fetch(
        "SELECT kind, recipient_person_id FROM case_notices ORDER BY recipient_person_id"
    )
    assert [(n["kind"], n["recipient_person_id"]) for n in notices] == [
        ("task_overdue", world.people["GM"]),
        ("task_overdue", world.people["GH"]),
    ]
    # an overdue task can still be done, late
    task_id = await db_conn.fetchval("SELECT id FROM patrol_tasks")
    await check_in(db_conn, task_id, world.member, config, lat=30.05, lon=120.05, now=due)
    items = [
        CheckResult(c, True)
        for c in ("site_env", "power", "device", "network", "signage", "inlet", "calibration")
    ]
    report = await submit_checklist(db_conn, task_id, world.member, config, items, now=due)
    assert report.on_time is False
    assert await db_conn.fetchval("SELECT state FROM patrol_tasks") == "done"


async def test_check_in_checklist_and_hazard_rounds(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    await station_plan(db_conn, world)
    await generate_patrol_tasks(db_pool, NOW, config)
    task_id = await db_conn.fetchval("SELECT id FROM patrol_tasks")
    gm = world.member
    other = world.actor("GM2", Role.GRID_MEMBER)
    with pytest.raises(PatrolError, match="已指派给其他人员"):
        await check_in(db_conn, task_id, other, config, lat=30.05, lon=120.05, now=NOW)
    with pytest.raises(PatrolError, match="需要网格员"):
        await check_in(db_conn, task_id, world.handler, config, lat=30.05, lon=120.05, now=NOW)
    with pytest.raises(PatrolError, match="请先到现场签到"):
        await submit_checklist(db_conn, task_id, gm, config, [], now=NOW)
    # 0.01° north ≈ 1.1 km: recorded but flagged; 0.001° ≈ 111 m: fine
    far = await check_in(db_conn, task_id, gm, config, lat=30.06, lon=120.05, now=NOW)
    assert far.out_of_range and far.distance_m == pytest.approx(1112, abs=2)
    near = await check_in(
        db_conn, task_id, gm, config, lat=30.051, lon=120.05, now=NOW, accuracy_m=8
    )
    assert not near.out_of_range and near.distance_m == pytest.approx(111, abs=1)
    assert await db_conn.fetchval("SELECT state FROM patrol_tasks") == "in_progress"

    codes = ["site_env", "power", "device", "network", "signage", "inlet", "calibration"]
    with pytest.raises(PatrolError, match="还有检查项未填写"):
        await submit_checklist(db_conn, task_id, gm, config, [CheckResult("power", True)], now=NOW)
    with pytest.raises(PatrolError, match="不属于该任务"):
        await submit_checklist(db_conn, task_id, gm, config, [CheckResult("x", True)], now=NOW)
    bad = [CheckResult(c, c != "inlet") for c in codes]
    with pytest.raises(PatrolError, match="须说明问题"):
        await submit_checklist(db_conn, task_id, gm, config, bad, now=NOW)
    bad = [
        CheckResult(
            c,
            c != "inlet",
            note="采样头积灰" if c == "inlet" else "",
            rectifier_person_id=world.people["H"] if c == "inlet" else None,
        )
        for c in codes
    ]
    report = await submit_checklist(db_conn, task_id, gm, config, bad, now=NOW)
    assert report.on_time and len(report.hazard_ids) == 1
    hazard_id = report.hazard_ids[0]
    h = await db_conn.fetchrow("SELECT * FROM patrol_hazards WHERE id = $1", hazard_id)
    assert (
        h["state"] == "rectifying"
        and h["round"] == 1
        and h["title"] == "采样头清洁、采样管路无积水"
    )
    assert h["rectify_deadline"] == datetime(2024, 3, 11, 9, tzinfo=TZ)  # 5 working days
    with pytest.raises(PatrolError, match="已完成"):
        await check_in(db_conn, task_id, gm, config, lat=30.05, lon=120.05, now=NOW)
    # the rectification deadline passes: one notice round to the rectifier and the grid head
    late = datetime(2024, 3, 11, 10, tzinfo=TZ)
    assert await mark_overdue(db_pool, late, config) == 1
    assert await mark_overdue(db_pool, late, config) == 0
    due = await db_conn.fetch(
        "SELECT recipient_person_id FROM case_notices WHERE kind = 'hazard_due' ORDER BY 1"
    )
    assert [r[0] for r in due] == sorted([world.people["H"], world.people["GH"]])

    # round 1: rectified by the unit, failed on review; round 2 passes
    handler = world.handler
    with pytest.raises(PatrolError, match="不能复查通过"):
        await hazards.review(db_conn, hazard_id, gm, config, passed=True, now=NOW)
    state = await hazards.rectify(db_conn, hazard_id, handler, note="已清洁", now=NOW)
    assert state.state == "reviewing"
    with pytest.raises(PatrolError, match="单位不能复查通过"):
        await hazards.review(db_conn, hazard_id, handler, config, passed=True, now=NOW)
    with pytest.raises(PatrolError, match="须说明原因"):
        await hazards.review(db_conn, hazard_id, gm, config, passed=False, now=NOW)
    later = NOW + timedelta(days=1)
    state = await hazards.review(
        db_conn, hazard_id, gm, config, passed=False, note="管路仍积水", now=later
    )
    assert state.state == "rectifying" and state.round == 2
    assert state.rectify_deadline == datetime(2024, 3, 12, 9, tzinfo=TZ)
    # the person who rectified may not review their own work
    await hazards.rectify(db_conn, hazard_id, gm, note="已排水", now=later)
    with pytest.raises(PatrolError, match="复查人不能是整改人本人"):
        await hazards.review(db_conn, hazard_id, gm, config, passed=True, now=later)
    state = await hazards.review(db_conn, hazard_id, world.officer, config, passed=True, now=later)
    assert state.state == "passed"
    rounds = await hazards.hazard_rounds(db_conn, hazard_id)
    assert [(r["round"], r["result"], r["rectify_note"]) for r in rounds] == [
        (1, "fail", "已清洁"),
        (2, "pass", "已排水"),
    ]
    with pytest.raises(PatrolError, match="隐患处于“已通过（归档）”"):
        await hazards.rectify(db_conn, hazard_id, handler, note="x", now=later)
    with pytest.raises(PatrolError, match="无需转案件"):
        await hazards.escalate_hazard(db_conn, hazard_id, world.officer, config, now=later)

    stats = await patrol_stats(
        db_conn,
        "person",
        datetime(2024, 3, 1, tzinfo=TZ),
        datetime(2024, 4, 1, tzinfo=TZ),
        now=later,
    )
    assert [(s.name, s.tasks, s.done, s.on_time, s.hazards, s.rectified) for s in stats] == [
        ("网格员甲", 1, 1, 1, 1, 1)
    ]
    assert stats[0].completion_rate == 1.0
    grids = await patrol_stats(
        db_conn, "grid", datetime(2024, 3, 1, tzinfo=TZ), datetime(2024, 4, 1, tzinfo=TZ), now=later
    )
    assert [g.name for g in grids] == ["网格一"]
    mine = await tasks_for_person(db_conn, world.people["GM"])
    assert [t["state"] for t in mine] == ["done"]


async def test_area_check_in_and_hazard_to_case(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    await create_plan(
        db_conn,
        PlanInput("网格三日巡", "daily", MON, area_id=world.areas["G3"], assignee_duty="member"),
    )
    await generate_patrol_tasks(db_pool, NOW, config)
    task_id = await db_conn.fetchval("SELECT id FROM patrol_tasks")
    gm2 = world.actor("GM2", Role.GRID_MEMBER)
    inside = await check_in(db_conn, task_id, gm2, config, lat=30.05, lon=120.25, now=NOW)
    assert inside.distance_m == 0 and not inside.out_of_range
    outside = await check_in(db_conn, task_id, gm2, config, lat=30.05, lon=120.31, now=NOW)
    assert outside.out_of_range and outside.distance_m == pytest.approx(963, abs=5)
    items = [
        CheckResult(c, c != "site_env", note="河岸垃圾" if c == "site_env" else "")
        for c in ("site_env", "power", "device", "network", "signage")
    ]
    report = await submit_checklist(db_conn, task_id, gm2, config, items, now=NOW)
    ref = await hazards.escalate_hazard(
        db_conn, report.hazard_ids[0], world.officer, config, now=NOW
    )
    case = await db_conn.fetchrow("SELECT source, grid_id, hazard_id, title FROM cases")
    assert case["source"] == "hazard" and case["grid_id"] == world.areas["G3"]
    assert case["hazard_id"] == report.hazard_ids[0]
    assert await db_conn.fetchval("SELECT case_id FROM patrol_hazards") == ref.id
    with pytest.raises(PatrolError, match="已转为案件"):
        await hazards.escalate_hazard(db_conn, report.hazard_ids[0], world.officer, config, now=NOW)


async def test_a_duty_in_the_area_or_above_it_counts(
    db_conn: asyncpg.Connection, world: World
) -> None:
    from web.casework.kernel.people import set_duty
    from web.casework.patrol import queries as pq

    a, p = world.areas, world.people
    assert await pq.has_duty(db_conn, a["G1"], p["GM"]) is True
    assert await pq.has_duty(db_conn, a["G3"], p["GM"]) is False
    assert await pq.has_duty(db_conn, a["G1"], p["GM2"]) is False
    await set_duty(db_conn, a["D1"], p["GM2"], "supervisor")
    assert await pq.has_duty(db_conn, a["G1"], p["GM2"]) is True
