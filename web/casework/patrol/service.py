"""Patrol services: plans, task generation, overdue marking, check-in, checklists.

Theory of operation
-------------------
A **plan** names its targets — a station list, patrol points, or an area — the check
items (empty = the checklist of each station's system type plus the common items), a
cycle (:mod:`web.casework.patrol.cycle`), a deadline (``due_hours`` after the period start) and an
assignee: a person, or a grid duty (``member`` / ``head``) resolved per target's grid at
generation (the lowest-id person with that duty in the nearest area up that has one).

:func:`generate_patrol_tasks` (scheduler job) creates, for every active plan, one task per
target for the period containing ``now`` — ``INSERT … ON CONFLICT DO NOTHING`` on
(plan, target, period start), so running it twice creates nothing twice.
:func:`mark_overdue` (scheduler job) turns pending / in-progress tasks past their deadline
into ``overdue`` with a notice to the assignee and the grid head, and queues a notice for
hazards past their rectification deadline (once per round).

A grid member **checks in** on site: the position is recorded with its distance to the
station / point (haversine) or to the area polygon (0 inside); beyond
``cases.checkin_max_distance_m`` the check-in is *flagged* (``out_of_range``), not refused.
Then the **checklist** is submitted: every item of the task's snapshot needs a result; a
failed item opens a hazard (:mod:`web.casework.patrol.hazards`) with round 1; the task is done
(``on_time`` when before its deadline — an overdue task can still be done, late).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import asyncpg

from web.casework.grid.geo import GeoError, distance_to_geometry_m, haversine_m, parse_polygon
from web.casework.kernel import people
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.notices import queue_notices
from web.casework.kernel.people import Actor, Role
from web.casework.kernel.uploads import StoredFile, attach
from web.casework.kernel.worktime import load_calendar
from web.casework.patrol import queries as q
from web.casework.patrol.cycle import CYCLES, period_at

__all__ = [
    "CheckIn",
    "CheckResult",
    "PatrolError",
    "PlanInput",
    "SubmitReport",
    "check_in",
    "create_plan",
    "generate_patrol_tasks",
    "mark_overdue",
    "set_plan_active",
    "submit_checklist",
    "tasks_for_person",
]

_DUTIES: Final = ("head", "member", "supervisor")


class PatrolError(WorkflowError):
    """Refused patrol operation (Chinese message; ``code`` as WorkflowError)."""


@dataclass(frozen=True, slots=True)
class PlanInput:
    name: str
    cycle: str
    start_date: date
    area_id: int | None = None
    station_ids: Sequence[int] = ()
    point_ids: Sequence[int] = ()
    check_items: Sequence[str] = ()
    every_days: int | None = None
    end_date: date | None = None
    due_hours: int | None = None
    assignee_person_id: int | None = None
    assignee_duty: str | None = None


async def create_plan(conn: asyncpg.Connection, plan: PlanInput, *, created_by: str = "") -> int:
    """Validate and store a patrol plan; returns its id."""
    if not plan.name.strip():
        raise PatrolError("巡查计划须有名称", "input")
    if plan.cycle not in CYCLES:
        raise PatrolError(f"巡查周期须为 {'/'.join(CYCLES)} 之一（收到 {plan.cycle!r}）", "input")
    if (plan.cycle == "custom") != (plan.every_days is not None):
        raise PatrolError("自定义周期须且仅须给出间隔天数（every_days）", "input")
    if plan.every_days is not None and plan.every_days < 1:
        raise PatrolError("间隔天数须 ≥ 1", "input")
    if plan.area_id is None and not plan.station_ids and not plan.point_ids:
        raise PatrolError("巡查计划须指定区域、站点或巡查点", "input")
    if plan.assignee_person_id is None and plan.assignee_duty is None:
        raise PatrolError("巡查计划须指定执行人或网格职责（网格员/网格长）", "input")
    if plan.assignee_duty is not None and plan.assignee_duty not in _DUTIES:
        raise PatrolError("网格职责须为 head/member/supervisor 之一", "input")
    if plan.end_date is not None and plan.end_date < plan.start_date:
        raise PatrolError("结束日期不能早于开始日期", "input")
    if plan.due_hours is not None and plan.due_hours < 1:
        raise PatrolError("完成时限（小时）须 ≥ 1", "input")
    return int(
        await q.insert_plan(
            conn,
            plan.name.strip(),
            plan.area_id,
            list(plan.station_ids),
            list(plan.point_ids),
            list(plan.check_items),
            plan.cycle,
            plan.every_days,
            plan.start_date,
            plan.end_date,
            plan.due_hours,
            plan.assignee_person_id,
            plan.assignee_duty,
            created_by,
        )
    )


async def set_plan_active(conn: asyncpg.Connection, plan_id: int, active: bool) -> None:
    await q.set_plan_active(conn, plan_id, active)


async def _items(conn: asyncpg.Connection, st: str, chosen: Sequence[str]) -> list[dict[str, str]]:
    rows = sorted(await q.check_items(conn, st), key=lambda r: (r["position"], r["code"]))
    items = [{"code": r["code"], "label": r["label"]} for r in rows]
    if chosen:
        wanted = set(chosen)
        items = [i for i in items if i["code"] in wanted]
    return items


async def _assignee(
    conn: asyncpg.Connection, plan: asyncpg.Record, grid_id: int | None
) -> int | None:
    if plan["assignee_person_id"] is not None:
        return int(plan["assignee_person_id"])
    if grid_id is None:
        return None
    found = await people.duty_people(conn, grid_id, plan["assignee_duty"])
    return found[0] if found else None


async def generate_patrol_tasks(
    pool: asyncpg.Pool,
    now: datetime,
    config: CaseConfig | None = None,
    *,
    plan_ids: Sequence[int] | None = None,
) -> int:
    """Scheduler job: the tasks of the current period of every active plan (idempotent);
    ``plan_ids``: of these plans only."""
    config = config or CaseConfig()
    tz = config.tz
    today = now.astimezone(tz).date()
    created = 0
    async with pool.acquire() as conn:
        for plan in await q.active_plans(conn, today):
            if plan_ids is not None and plan["id"] not in plan_ids:
                continue
            period = period_at(
                plan["cycle"], today, start_date=plan["start_date"], end_date=plan["end_date"],
                every_days=plan["every_days"],
            )  # fmt: skip
            if period is None:
                continue
            start, end = period.bounds(tz)
            due = period.due(tz, plan["due_hours"])
            targets: list[tuple[str, int, int | None, str]] = []
            for s in await q.plan_stations(conn, plan["station_ids"]):
                targets.append(("station", s["id"], s["grid_id"], s["st"]))
            for p in await q.plan_points(conn, plan["point_ids"]):
                targets.append(("point", p["id"], p["grid_id"], "*"))
            if plan["area_id"] is not None and not targets:
                targets.append(("area", plan["area_id"], plan["area_id"], "*"))
            async with conn.transaction():
                for target, target_id, grid_id, st in targets:
                    items = await _items(conn, st, plan["check_items"])
                    assignee = await _assignee(conn, plan, grid_id)
                    row = await q.insert_task(
                        conn,
                        plan["id"],
                        target,
                        target_id,
                        grid_id,
                        start,
                        end,
                        due,
                        assignee,
                        plan["assignee_duty"],
                        items,
                        now,
                    )
                    created += row is not None
    return created


async def mark_overdue(pool: asyncpg.Pool, now: datetime, config: CaseConfig | None = None) -> int:
    """Scheduler job: overdue tasks (+ notices) and hazard rectification notices.

    Returns the number of tasks marked overdue plus hazards newly noticed; idempotent.
    """
    config = config or CaseConfig()
    count = 0
    async with pool.acquire() as conn, conn.transaction():
        for t in await q.mark_tasks_overdue(conn, now):
            heads = await people.duty_people(conn, t["grid_id"], "head") if t["grid_id"] else []
            recipients = sorted({t["assignee_person_id"], *heads} - {None})
            due = t["due_at"].astimezone(config.tz)
            await queue_notices(
                conn, "task_overdue", recipients, due_at=now,
                title=f"巡查任务超期：{t['plan']}",
                body=f"任务 #{t['id']}，时限 {due:%Y-%m-%d %H:%M}",
                dedup=f"task:{t['id']}:overdue", task_id=t["id"],
            )  # fmt: skip
            count += 1
        for h in await q.overdue_hazards(conn, now):
            heads = await people.duty_people(conn, h["grid_id"], "head") if h["grid_id"] else []
            recipients = sorted({h["rectifier_person_id"], *heads} - {None})
            made = await queue_notices(
                conn, "hazard_due", recipients, due_at=now,
                title=f"隐患整改超期：{h['title']}", body=f"隐患 #{h['id']} 第 {h['round']} 轮整改",
                dedup=f"hazard:{h['id']}:{h['round']}:due", hazard_id=h["id"],
            )  # fmt: skip
            count += made > 0
    return count


# -- on site ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckIn:
    id: int
    #: None when the target has no position.
    distance_m: float | None
    out_of_range: bool


async def _lock_task(conn: asyncpg.Connection, task_id: int) -> asyncpg.Record:
    task = await q.lock_task(conn, task_id)
    if task is None:
        raise PatrolError(f"巡查任务 {task_id} 不存在", "not_found")
    return task


async def _check_worker(conn: asyncpg.Connection, task: asyncpg.Record, actor: Actor) -> None:
    if actor.role in (Role.ADMIN, Role.OFFICER, Role.SYSTEM):
        return
    if actor.role is not Role.GRID_MEMBER:
        raise PatrolError(f"{actor.role.label}不能执行巡查任务；需要网格员", "role")
    if task["assignee_person_id"] is not None:
        if task["assignee_person_id"] != actor.person_id:
            raise PatrolError("该巡查任务已指派给其他人员", "scope")
        return
    if task["grid_id"] is None or not await q.has_duty(conn, task["grid_id"], actor.person_id):
        raise PatrolError("该巡查任务不在您负责的网格内", "scope")


async def _distance(
    conn: asyncpg.Connection, task: asyncpg.Record, lat: float, lon: float
) -> float | None:
    if task["target"] == "area":
        row = await q.area_boundary(conn, task["target_id"])
        if row is None:
            return None
        if row["boundary"] is not None:
            try:
                return distance_to_geometry_m(parse_polygon(row["boundary"]), lat, lon)
            except GeoError:
                pass
        if row["centroid_lat"] is None:
            return None
        return haversine_m(lat, lon, row["centroid_lat"], row["centroid_lon"])
    pos = await q.target_position(conn, task["target"], task["target_id"])
    if pos is None or pos["lat"] is None or pos["lon"] is None:
        return None
    return haversine_m(lat, lon, pos["lat"], pos["lon"])


async def check_in(
    conn: asyncpg.Connection,
    task_id: int,
    actor: Actor,
    config: CaseConfig,
    *,
    lat: float,
    lon: float,
    now: datetime,
    accuracy_m: float | None = None,
    note: str = "",
    photos: Sequence[StoredFile] = (),
) -> CheckIn:
    """Record an on-site check-in; far from the target = flagged ``out_of_range``."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise PatrolError("签到位置坐标超出范围", "input")
    async with conn.transaction():
        task = await _lock_task(conn, task_id)
        if task["state"] == "done":
            raise PatrolError("该巡查任务已完成，不能再签到", "state")
        await _check_worker(conn, task, actor)
        distance = await _distance(conn, task, lat, lon)
        flagged = distance is not None and distance > config.cases.checkin_max_distance_m
        checkin_id = int(
            await q.insert_checkin(
                conn,
                task_id,
                actor.person_id,
                now,
                lat,
                lon,
                accuracy_m,
                distance,
                flagged,
                note.strip(),
            )
        )
        await attach(conn, "checkin", checkin_id, photos, actor.name)
        await q.start_task(conn, task_id, now)
    return CheckIn(checkin_id, distance, flagged)


@dataclass(frozen=True, slots=True)
class CheckResult:
    code: str
    ok: bool
    value: str = ""
    note: str = ""
    #: For a failed item: who must rectify the hazard (None = the grid decides).
    rectifier_person_id: int | None = None


@dataclass(frozen=True, slots=True)
class SubmitReport:
    task_id: int
    on_time: bool
    hazard_ids: tuple[int, ...]


async def submit_checklist(
    conn: asyncpg.Connection,
    task_id: int,
    actor: Actor,
    config: CaseConfig,
    results: Sequence[CheckResult],
    *,
    now: datetime,
    photos: Sequence[StoredFile] = (),
) -> SubmitReport:
    """Fill the checklist and finish the task; failed items open hazards (round 1)."""
    async with conn.transaction():
        task = await _lock_task(conn, task_id)
        if task["state"] == "done":
            raise PatrolError("该巡查任务已完成", "state")
        await _check_worker(conn, task, actor)
        if not await q.has_checkin(conn, task_id):
            raise PatrolError("请先到现场签到，再填写检查结果", "state")
        items: list[dict[str, Any]] = list(task["check_items"] or [])
        labels = {i["code"]: i["label"] for i in items}
        given = {r.code: r for r in results}
        unknown = sorted(set(given) - set(labels))
        if unknown:
            raise PatrolError(f"检查项 {'、'.join(unknown)} 不属于该任务", "input")
        missing = [labels[c] for c in labels if c not in given]
        if missing:
            raise PatrolError(f"还有检查项未填写：{'、'.join(missing)}", "input")
        for r in results:
            if not r.ok and not r.note.strip():
                raise PatrolError(f"不合格项“{labels[r.code]}”须说明问题", "input")
        cal = await load_calendar(conn, config, now)
        deadline = cal.add(now, config.cases.hazard_rectify_minutes)
        hazards: list[int] = []
        for r in results:
            await q.upsert_result(
                conn, task_id, r.code, labels[r.code], r.ok, r.value, r.note, actor.person_id, now
            )
            if r.ok:
                continue
            hazard_id = await q.insert_hazard(
                conn,
                task_id,
                r.code,
                task["target"],
                task["target_id"],
                task["grid_id"],
                labels[r.code],
                r.note.strip(),
                actor.person_id,
                r.rectifier_person_id,
                deadline,
                now,
            )
            if hazard_id is not None:
                await q.insert_round(conn, hazard_id, 1)
                hazards.append(int(hazard_id))
        await attach(conn, "task", task_id, photos, actor.name)
        await q.finish_task(conn, task_id, now)
    return SubmitReport(task_id, now <= task["due_at"], tuple(hazards))


async def tasks_for_person(
    conn: asyncpg.Connection, person_id: int, states: Sequence[str] | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """A grid member's tasks (assigned to them, or unassigned in their grids), by deadline."""
    rows = await q.tasks_for_person(conn, person_id, list(states) if states else None, limit)
    return [dict(r) for r in rows]
