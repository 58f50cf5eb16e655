"""The case record: the locked row a transition works on (:class:`CaseRow`), its trail
(``case_events``, append-only), stage time limits, and reading a case as an actor sees it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from web.casework.cases import queries as q
from web.casework.cases.incident import PRIORITY_LABELS, priority_of
from web.casework.cases.workflow import Action, State, Switches, allowed_actions
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Actor, Role

__all__ = [
    "CaseRow",
    "action_label",
    "append_event",
    "assess_instant",
    "case_trail",
    "get_case",
    "in_actor_scope",
    "lock_case",
    "save_case",
    "stage_limits",
]


async def stage_limits(
    conn: asyncpg.Connection, config: CaseConfig, category: str
) -> dict[str, int]:
    limits = dict(config.cases.stage_minutes)
    for r in await q.time_limits(conn, category):
        limits[r["stage"]] = r["minutes"]
    return limits


@dataclass(slots=True)
class CaseRow:
    """The mutable columns of a case, as locked for a transition."""

    id: int
    code: str
    title: str
    category: str
    urgent: bool
    source: str
    state: str
    grid_id: int | None
    station_id: int | None
    alert_rule: str | None
    unit_id: int | None
    handler_person_id: int | None
    stage: str | None
    stage_seq: int
    stage_started_at: datetime | None
    deadline: datetime | None
    paused_remaining: int | None
    handle_deadline: datetime | None
    handle_overdue: bool
    supervised: bool
    supervised_at: datetime | None
    reminded_seq: int | None
    escalated_seq: int | None
    overdue_seq: int | None
    rework_count: int
    return_count: int
    extension_minutes: int
    reported_at: datetime
    accepted_at: datetime | None
    filed_at: datetime | None
    dispatched_at: datetime | None
    feedback_at: datetime | None
    hung_at: datetime | None
    closed_at: datetime | None
    archived_at: datetime | None
    ended_at: datetime | None
    assess_at: datetime | None
    version: int
    #: 1 一般, 2 较重, 3 严重 (alert cases: the highest severity of their alerts).
    priority: int
    #: When every alert of the case had cleared (已恢复); None while one is active.
    recovered_at: datetime | None
    #: 'recovered' (恢复结案) / 'auto_recovered' (自动恢复) / None.
    close_kind: str | None

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> CaseRow:
        return cls(**{f.name: r[f.name] for f in dataclasses.fields(cls)})


async def lock_case(conn: asyncpg.Connection, case_id: int) -> CaseRow:
    r = await q.lock_case(conn, case_id)
    if r is None:
        raise WorkflowError(f"案件 {case_id} 不存在", "not_found")
    return CaseRow.from_record(r)


async def save_case(conn: asyncpg.Connection, c: CaseRow, now: datetime) -> None:
    c.version = await q.update_case(
        conn,
        c.id,
        c.state,
        c.unit_id,
        c.handler_person_id,
        c.stage,
        c.stage_seq,
        c.stage_started_at,
        c.deadline,
        c.paused_remaining,
        c.handle_deadline,
        c.handle_overdue,
        c.supervised,
        c.supervised_at,
        c.reminded_seq,
        c.escalated_seq,
        c.overdue_seq,
        c.rework_count,
        c.return_count,
        c.extension_minutes,
        c.accepted_at,
        c.filed_at,
        c.dispatched_at,
        c.feedback_at,
        c.hung_at,
        c.closed_at,
        c.archived_at,
        c.ended_at,
        c.assess_at,
        now,
        c.close_kind,
    )


async def append_event(
    conn: asyncpg.Connection,
    case_id: int,
    now: datetime,
    action: str,
    from_state: State | None,
    to_state: State,
    actor: Actor,
    comment: str,
    unit_id: int | None,
    data: Mapping[str, Any],
) -> tuple[int, int]:
    r = await q.insert_event(
        conn,
        case_id,
        now,
        action,
        from_state,
        to_state,
        actor.role.value,
        actor.person_id,
        actor.name,
        comment,
        unit_id,
        dict(data),
    )
    return int(r["id"]), int(r["seq"])


def assess_instant(c: CaseRow) -> datetime | None:
    """When the case counts in the assessment (see :mod:`.assessment`)."""
    if c.dispatched_at is None or c.state in (State.CANCELLED, State.REJECTED):
        return None
    if c.state == State.HUNG:
        return c.hung_at
    if c.closed_at is not None:
        return min(c.closed_at, c.handle_deadline) if c.handle_deadline else c.closed_at
    return c.handle_deadline


async def in_actor_scope(conn: asyncpg.Connection, actor: Actor, grid_id: int | None) -> bool:
    if actor.scope is None:
        return True
    if grid_id is None:
        return False
    return bool(await q.in_scope(conn, list(actor.scope), grid_id))


async def get_case(
    conn: asyncpg.Connection, case_id: int, actor: Actor, config: CaseConfig
) -> dict[str, Any]:
    """The case as a dict, with ``actions``: what this actor may do now (for the buttons)."""
    r = await q.get_case(conn, case_id)
    if r is None:
        raise WorkflowError(f"案件 {case_id} 不存在", "not_found")
    if actor.role is Role.UNIT:
        visible = actor.unit_id is not None and actor.unit_id == r["unit_id"]
    else:
        visible = await in_actor_scope(conn, actor, r["grid_id"])
    if not visible:
        raise WorkflowError(f"案件 {r['code']} 不在您的管辖范围内", "scope")
    out = dict(r)
    state = State(r["state"])
    out["state_label"] = state.label
    recovered = r["source"] == "alert" and r["recovered_at"] is not None
    out["actions"] = [
        {"action": a.value, "label": a.label}
        for a in allowed_actions(state, actor.role, Switches.of(config.cases))
        if a is not Action.CLOSE_RECOVERED or recovered  # 恢复结案: only once recovered
    ]
    return out


def action_label(action: str) -> str:
    """A trail entry's action in words (workflow actions and the service's own entries)."""
    try:
        return Action(action).label
    except ValueError:
        return {
            "report": "上报",
            "reassign_grid": "调整网格",
            "recovered": "告警已恢复",
        }.get(action, action)


async def case_trail(conn: asyncpg.Connection, case_id: int) -> list[dict[str, Any]]:
    """The append-only trail with attachments, oldest first (labels resolved)."""
    out = []
    for r in await q.case_trail(conn, case_id):
        row = dict(r)
        row["action_label"] = action_label(r["action"])
        row["to_state_label"] = State(r["to_state"]).label
        out.append(row)
    return out


#: The fields of a linked alert shown on the case page (read by name from its JSON row).
_ALERT_FIELDS: Final = (
    "id", "rule", "severity", "state", "first_seen", "last_seen", "fired_at", "resolved_at",
    "value", "threshold", "count", "reason",
)  # fmt: skip


async def case_alerts(conn: asyncpg.Connection, case_id: int) -> list[dict[str, Any]]:
    """The alerts of an alert case, in the order they joined, each with its priority
    (一般/较重/严重) and its own timeline (alert_events)."""
    out = []
    for r in await q.case_alerts(conn, case_id):
        alert = r["alert"]
        row = {k: alert.get(k) for k in _ALERT_FIELDS}
        priority = priority_of(alert.get("severity"))
        row.update(
            factor_code=r["factor_code"], factor_name=r["factor_name"],
            priority=priority, priority_label=PRIORITY_LABELS[priority],
            events=list(r["events"]),
        )  # fmt: skip
        out.append(row)
    return out
