"""Reads of the patrol pages and API (tasks, hazards, plans) in the caller's data scope,
and the checks the web layer adds to the round-1 services (who may plan, scope of a
task or hazard before acting on it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from web.casework.kernel import queries as kq
from web.casework.kernel.access import Caller
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Role
from web.casework.patrol import queries as q
from web.casework.patrol.hazards import HAZARD_FLOW

__all__ = [
    "HAZARD_LABELS",
    "TASK_LABELS",
    "hazard_detail",
    "require_hazard",
    "require_plan",
    "require_planner",
    "require_task",
    "task_detail",
]

TASK_LABELS = {"pending": "待巡查", "in_progress": "巡查中", "done": "已完成", "overdue": "已超期"}
HAZARD_LABELS = {"rectifying": "整改中", "reviewing": "待复查", "passed": "已通过"}


def _links(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**a, "url": f"/api/v1/attachments/{a['id']}"} for a in items]


def _with_links(rows: Sequence[asyncpg.Record]) -> list[dict[str, Any]]:
    """The rows as dicts, their ``attachments`` with download links."""
    return [{**r, "attachments": _links(r["attachments"])} for r in rows]


def _found(row: asyncpg.Record | None, what: str, labels: dict[str, str]) -> dict[str, Any]:
    """The row of ``what`` with its ``state_label``; refused when not found or not in scope."""
    if row is None:
        raise WorkflowError(f"{what} 不存在或不在您的管辖范围内", "not_found")
    item = dict(row)
    item["state_label"] = labels.get(item["state"], item["state"])
    return item


def require_planner(caller: Caller) -> None:
    if caller.role not in (Role.ADMIN, Role.OFFICER):
        raise WorkflowError(
            f"{caller.role.label}不能制定巡查计划；需要监督中心人员或管理员", "role"
        )


async def require_plan(conn: asyncpg.Connection, plan_id: int, caller: Caller) -> None:
    if not await q.plan_in_scope(conn, plan_id, caller.scope):
        raise WorkflowError(f"巡查计划 {plan_id} 不存在或不在您的管辖范围内", "not_found")


async def require_task(conn: asyncpg.Connection, task_id: int, caller: Caller) -> None:
    if not await kq.patrol_in_scope(conn, task_id, None, caller.scope):
        raise WorkflowError(f"巡查任务 {task_id} 不存在或不在您的管辖范围内", "not_found")


async def require_hazard(conn: asyncpg.Connection, hazard_id: int, caller: Caller) -> None:
    if not await kq.patrol_in_scope(conn, None, hazard_id, caller.scope):
        raise WorkflowError(f"隐患 {hazard_id} 不存在或不在您的管辖范围内", "not_found")


def _may_work(task: dict[str, Any], caller: Caller) -> bool:
    if task["state"] == "done":
        return False
    if caller.role in (Role.ADMIN, Role.OFFICER):
        return caller.principal.can("patrol:write")
    if caller.role is not Role.GRID_MEMBER or caller.person is None:
        return False
    assignee = task["assignee_person_id"]
    return assignee is None or assignee == caller.person.id


async def task_detail(conn: asyncpg.Connection, task_id: int, caller: Caller) -> dict[str, Any]:
    task = _found(await q.task(conn, task_id, caller.scope), f"巡查任务 {task_id}", TASK_LABELS)
    task["checkins"] = _with_links(await q.task_checkins(conn, task_id))
    task["results"] = [dict(r) for r in await q.task_results(conn, task_id)]
    task["attachments"] = _links([dict(r) for r in await q.task_attachments(conn, task_id)])
    hazards = [dict(r) for r in await q.task_hazards(conn, task_id)]
    for h in hazards:
        h["state_label"] = HAZARD_LABELS.get(h["state"], h["state"])
    task["hazards"] = hazards
    task["can_work"] = _may_work(task, caller)
    return task


def _hazard_actions(hazard: dict[str, Any], caller: Caller) -> list[str]:
    if not caller.principal.can("patrol:write"):
        return []
    me = caller.person.id if caller.person else None
    current = hazard["rounds"][-1] if hazard["rounds"] else {}
    out = []
    for (state, action), (roles, _) in HAZARD_FLOW.items():
        if state != hazard["state"] or caller.role not in roles:
            continue
        if action in ("pass", "fail") and me is not None and current.get("rectified_by") == me:
            continue  # nobody reviews their own rectification
        out.append(action)
    if (
        hazard["case_id"] is None
        and hazard["state"] != "passed"
        and caller.principal.can("cases:write")
        and caller.role in (Role.ADMIN, Role.OFFICER, Role.GRID_MEMBER)
    ):
        out.append("escalate")
    return out


async def hazard_detail(conn: asyncpg.Connection, hazard_id: int, caller: Caller) -> dict[str, Any]:
    row = await q.hazard(conn, hazard_id, caller.scope)
    hazard = _found(row, f"隐患 {hazard_id}", HAZARD_LABELS)
    hazard["rounds"] = _with_links(await q.hazard_rounds_detail(conn, hazard_id))
    hazard["actions"] = _hazard_actions(hazard, caller)
    return hazard
