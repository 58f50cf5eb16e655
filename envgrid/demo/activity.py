"""What happens in the sample city: patrol plans with this period's tasks (one done, with
a hazard), cases walked through the real workflow to every state the instance's switches
allow, and a few alerts on the demo stations.

Cases go through :func:`web.casework.cases.intake.create_case` and
:func:`web.casework.cases.service.transition` (the same calls the dashboard makes), as
the demo officer, the responsible unit's handler or the system; a step the instance's
workflow switches rule out (核实 without ``cases.verify_step``, 回访 without
``cases.return_visit_step`` …) is skipped, so each case ends in the furthest state its
path reaches here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg

from web.casework.cases import intake
from web.casework.cases import service as cases
from web.casework.kernel import people
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Actor
from web.casework.kernel.uploads import StoredFile, save_photos
from web.casework.patrol import service as patrol

from .marker import record
from .world import City

__all__ = ["add_alerts", "add_cases", "add_patrols"]

#: Steps taken by the responsible unit's handler; the others by the officer.
_UNIT_STEPS: Final = frozenset({"take", "return", "feedback", "request_extension", "request_hang"})
_COMMENTS: Final = {
    "reject": "重复投诉，已并入前案",
    "cancel": "误报，作废",
    "return": "不属本单位职责，请改派",
    "request_extension": "需协调相关部门，申请延期",
    "request_hang": "涉及规划调整，申请挂账",
    "feedback": "已现场处置，见照片",
    "check_fail": "现场仍有问题",
}


def _photo() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (96, 128, 90))
    draw = ImageDraw.Draw(image)
    for x in range(0, 320, 40):
        draw.line([(x, 0), (x + 120, 240)], fill=(235, 235, 235), width=6)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


async def _unit_actor(conn: asyncpg.Connection, case_id: int) -> Actor:
    unit_id = await conn.fetchval("SELECT unit_id FROM cases WHERE id = $1", case_id)
    handlers = await people.unit_people(conn, unit_id) if unit_id is not None else []
    if not handlers:
        raise WorkflowError("该单位没有处置人员", "not_found")
    return await people.actor_for_person(conn, handlers[0])


async def _walk(
    conn: asyncpg.Connection, case_id: int, path: Sequence[str], officer: Actor,
    config: CaseConfig, at: datetime, photos: Sequence[StoredFile],
) -> datetime:  # fmt: skip
    for step in path:
        at += timedelta(minutes=40)
        options: dict[str, Any] = {"comment": _COMMENTS.get(step, "")}
        if step == "feedback":
            options["photos"] = photos
        if step in ("request_extension", "approve_extension"):
            options["extension_minutes"] = 480
        try:
            actor = await _unit_actor(conn, case_id) if step in _UNIT_STEPS else officer
            await cases.transition(conn, case_id, step, actor, config, now=at, **options)
        except WorkflowError:
            continue  # ruled out by this instance's workflow switches
    return at


async def add_cases(
    conn: asyncpg.Connection, city: City, spec: dict[str, Any], config: CaseConfig, now: datetime
) -> dict[str, int]:
    """The cases of ``city.json``; returns how many ended in each state."""
    officer = await people.actor_for_person(conn, city.people["officer"])
    photos = await save_photos(
        config.uploads_dir, [("现场.jpg", _photo())], max_bytes=1 << 20, max_count=1, now=now
    )
    ids: list[int] = []
    for n, c in enumerate(spec["cases"]):
        lat, lon = city.grid_points[c["grid"]]
        path: list[str] = c["path"]
        at = now - timedelta(hours=2 + len(path), minutes=7 * n)
        source = "manual" if c["category"] == "other" else "complaint"
        new = intake.NewCase(
            c["title"], c["category"], source, description=f"{c['title']}，请核实处理。",
            lat=lat, lon=lon, grid_id=city.grids[c["grid"]],
            address=f"{spec['city']['name']}{c['title'][:4]}附近",
            reporter_name="张先生" if source == "complaint" else "",
            reporter_phone="13700000000" if source == "complaint" else "",
        )  # fmt: skip
        ref = await intake.create_case(conn, new, officer, config, now=at)
        ids.append(ref.id)
        await record(conn, "case", [ref.id])
        await _walk(conn, ref.id, path, officer, config, at, photos)
    states: dict[str, int] = {}
    for r in await conn.fetch("SELECT state FROM cases WHERE id = ANY($1::bigint[])", ids):
        states[r["state"]] = states.get(r["state"], 0) + 1
    return states


async def add_patrols(pool: asyncpg.Pool, city: City, config: CaseConfig, now: datetime) -> int:
    """A daily plan for the air stations of the first grids, a weekly one for the patrol
    points; this period's tasks; the first task done (checked in on site, one item failed
    → a hazard).  Returns the tasks made."""
    today = now.astimezone(config.tz).date()
    async with pool.acquire() as conn, conn.transaction():
        plans = [
            await patrol.create_plan(
                conn,
                patrol.PlanInput("示范市空气站日巡", "daily", today - timedelta(days=7),
                                 station_ids=[s[0] for s in city.stations[:3]],
                                 assignee_duty="member"),
                created_by="演示值班员",
            ),
            await patrol.create_plan(
                conn,
                patrol.PlanInput("重点巡查点周巡", "weekly", today - timedelta(days=7),
                                 point_ids=city.points, assignee_duty="member", due_hours=72),
                created_by="演示值班员",
            ),
        ]  # fmt: skip
        await record(conn, "plan", plans)
    made = await patrol.generate_patrol_tasks(pool, now, config, plan_ids=plans)
    async with pool.acquire() as conn, conn.transaction():
        task = await conn.fetchrow(
            "SELECT t.id, t.assignee_person_id FROM patrol_tasks t"
            " WHERE t.plan_id = $1 AND t.target = 'station' AND t.assignee_person_id IS NOT NULL"
            " ORDER BY t.id LIMIT 1",
            plans[0],
        )
        if task is not None:
            worker = await people.actor_for_person(conn, task["assignee_person_id"])
            _sid, _mn, _st, _g, lat, lon, _d = city.stations[0]
            await patrol.check_in(
                conn, task["id"], worker, config, lat=lat, lon=lon, now=now, accuracy_m=8
            )
            items = await conn.fetchval(
                "SELECT check_items FROM patrol_tasks WHERE id = $1", task["id"]
            )
            results = [
                patrol.CheckResult(
                    i["code"],
                    i["code"] != "signage",
                    note="" if i["code"] != "signage" else "围栏破损",
                )
                for i in items
            ]
            report = await patrol.submit_checklist(
                conn, task["id"], worker, config, results, now=now
            )
            await record(conn, "hazard", report.hazard_ids)
    return made


INSERT_ALERT_SQL: Final = """
INSERT INTO alerts (rule, scope_key, station_id, factor_id, region, grid_id, state, severity,
                    first_seen, last_seen, fired_at, acknowledged_at, acknowledged_by,
                    resolved_at, resolved_by, value, threshold, reason, data_kind, labels)
SELECT 'exceedance', 'station:' || s.id, s.id, f.id, s.region, s.grid_id, $3::text, $4,
       $5::timestamptz, $6::timestamptz, $5::timestamptz,
       CASE WHEN $3::text = 'acknowledged' THEN $6::timestamptz END,
       CASE WHEN $3::text = 'acknowledged' THEN 'demo_officer' END,
       CASE WHEN $3::text = 'resolved' THEN $6::timestamptz END,
       CASE WHEN $3::text = 'resolved' THEN 'system' END,
       $7, $8, 'above', 'hour', jsonb_build_object('factor_code', f.code)
FROM stations s, factors f WHERE s.id = $1 AND f.code = $2
RETURNING id
"""


async def add_alerts(
    conn: asyncpg.Connection, city: City, spec: dict[str, Any], now: datetime
) -> int:
    """Exceedance alerts on demo stations: one firing, one acknowledged, one resolved."""
    ids = []
    for a in spec["alerts"]:
        first = now - timedelta(hours=a["hours_ago"])
        last = first + timedelta(hours=1)
        ids.append(
            await conn.fetchval(
                INSERT_ALERT_SQL,
                city.stations[a["station"]][0],
                a["factor"],
                a["state"],
                a["severity"],
                first,
                last,
                a["value"],
                a["threshold"],
            )
        )
    await record(conn, "alert", ids)
    return len(ids)
