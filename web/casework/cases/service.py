"""Case services: create, transition (with the stage clock and the trail), read, board.

Theory of operation
-------------------
Every change of a case happens in :func:`transition` (or :func:`create_case`), inside one
transaction on a ``SELECT … FOR UPDATE``-locked row:

1. :func:`web.casework.cases.workflow.apply` decides whether the actor's role may take the action
   in the current state under the switches (or raises :class:`WorkflowError`);
2. data-level checks: a unit acts only on cases dispatched to it; a scoped actor only on
   cases in its area subtrees; required reasons, photos and extension minutes;
3. the clock effect is applied with the work calendar (:mod:`web.casework.kernel.calendar`): a
   started stage gets ``deadline = add(now, limit)`` where the limit is the category's
   (``case_time_limits``) or ``cases.stage_minutes``; 挂账 pauses and keeps the remaining
   working minutes; 延期 moves the deadline by the approved minutes;
4. milestones and counters (dispatched_at, feedback_at, rework_count, …) and
   ``assess_at`` (see :mod:`web.casework.cases.assessment`) are updated, ``version`` incremented;
5. one row is appended to ``case_events`` (append-only: a trigger refuses UPDATE/DELETE)
   and the photos are linked to it;
6. automatic follow-ups run as the ``system`` role in the same transaction: a case that
   reaches 已立案 is dispatched to the responsible unit when ``auto_dispatch`` is on (a
   note says so when no unit is configured), a closed case is archived when
   ``auto_archive`` is on.  Dispatches leave notices for the unit's people in the outbox.

Functions take an ``asyncpg.Connection``; they open a (nested) transaction themselves.
``now`` is always passed in, so tests and the scheduler control time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg

from web.casework.cases import queries as q
from web.casework.cases.workflow import (
    Action,
    Clock,
    State,
    Switches,
    Transition,
    allowed_actions,
    apply,
)
from web.casework.grid import service as grid
from web.casework.grid.geo import GridIndex
from web.casework.kernel import people, tree
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.notices import queue_notices
from web.casework.kernel.people import Actor, Role
from web.casework.kernel.uploads import StoredFile, attach
from web.casework.kernel.worktime import load_calendar

__all__ = [
    "SOURCES",
    "BoardFilter",
    "BoardPage",
    "CaseRef",
    "CaseRow",
    "NewCase",
    "TransitionResult",
    "add_note",
    "case_board",
    "case_trail",
    "create_case",
    "get_case",
    "reassign_grid",
    "set_time_limit",
    "transition",
]

SOURCES: Final = ("alert", "hazard", "complaint", "manual")
_SOURCE_LABELS: Final = {"alert": "监测告警", "hazard": "巡查隐患", "complaint": "群众投诉",
                         "manual": "人工录入"}  # fmt: skip
#: Actions that need a reason in the comment.
_NEEDS_REASON: Final = frozenset(
    {
        Action.REJECT,
        Action.CANCEL,
        Action.RETURN,
        Action.REQUEST_HANG,
        Action.CHECK_FAIL,
        Action.VERIFY_FALSE,
        Action.DENY_EXTENSION,
        Action.DENY_HANG,
        Action.NOTE,
    }
)
_MAX_EXTENSION_MINUTES: Final = 450 * 60  # 60 working days


# -- calendar and limits -----------------------------------------------------------------


async def set_time_limit(conn: asyncpg.Connection, category: str, stage: str, minutes: int) -> None:
    """Per-category stage limit in working minutes."""
    if minutes <= 0:
        raise WorkflowError("时限须为正的工作分钟数", "input")
    try:
        await q.upsert_time_limit(conn, category, stage, minutes)
    except (asyncpg.ForeignKeyViolationError, asyncpg.CheckViolationError):
        raise WorkflowError(f"未知的案件类别 {category!r} 或环节 {stage!r}", "input") from None


async def _limits(conn: asyncpg.Connection, config: CaseConfig, category: str) -> dict[str, int]:
    limits = dict(config.cases.stage_minutes)
    for r in await q.time_limits(conn, category):
        limits[r["stage"]] = r["minutes"]
    return limits


# -- create -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewCase:
    title: str
    category: str
    source: str
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    #: None = locate by position (needs ``index`` in :func:`create_case`).
    grid_id: int | None = None
    station_id: int | None = None
    alert_rule: str | None = None
    hazard_id: int | None = None
    #: None = the category's flag.
    urgent: bool | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_ip: str | None = None


@dataclass(frozen=True, slots=True)
class CaseRef:
    id: int
    code: str
    state: State
    grid_id: int | None
    unit_id: int | None
    deadline: datetime | None


_CREATORS: Final = {
    "manual": frozenset({Role.ADMIN, Role.OFFICER, Role.GRID_MEMBER, Role.SYSTEM}),
    "hazard": frozenset({Role.ADMIN, Role.OFFICER, Role.GRID_MEMBER, Role.SYSTEM}),
    "complaint": frozenset({Role.SYSTEM, Role.ADMIN, Role.OFFICER}),
    "alert": frozenset({Role.SYSTEM}),
}


def _validate_new(new: NewCase) -> None:
    if new.source not in SOURCES:
        raise WorkflowError(f"案件来源须为 {'/'.join(SOURCES)} 之一", "input")
    if not new.title.strip() or len(new.title) > 200:
        raise WorkflowError("标题不能为空，且不超过 200 字", "input")
    if len(new.description) > 5000:
        raise WorkflowError("描述不超过 5000 字", "input")
    if (new.lat is None) != (new.lon is None):
        raise WorkflowError("位置须同时给出经度和纬度", "input")
    if (
        new.lat is not None
        and new.lon is not None
        and not (-90 <= new.lat <= 90 and -180 <= new.lon <= 180)
    ):
        raise WorkflowError("经纬度超出范围", "input")


async def create_case(
    conn: asyncpg.Connection,
    new: NewCase,
    actor: Actor,
    config: CaseConfig,
    *,
    now: datetime,
    photos: Sequence[StoredFile] = (),
    index: GridIndex | None = None,
) -> CaseRef:
    """Report a case (state 已上报, the 受理 clock running); alert cases run on to dispatch."""
    _validate_new(new)
    if actor.role not in _CREATORS[new.source]:
        raise WorkflowError(
            f"{actor.role.label}不能登记来源为“{_SOURCE_LABELS[new.source]}”的案件", "role"
        )
    async with conn.transaction():
        category = await q.category(conn, new.category)
        if category is None or not category["active"]:
            raise WorkflowError(f"未知或已停用的案件类别 {new.category!r}", "input")
        grid_id = new.grid_id
        method: Literal["location", "manual"] = "manual"
        if grid_id is None and new.lat is not None and new.lon is not None and index is not None:
            grid_id = index.locate(new.lon, new.lat)
            method = "location"
        cal = await load_calendar(conn, config, now)
        limits = await _limits(conn, config, new.category)
        case_id = int(await q.next_case_id(conn))
        local = now.astimezone(config.tz)
        code = f"AJ{local:%Y%m%d}{case_id:06d}"
        urgent = category["urgent"] if new.urgent is None else new.urgent
        await q.insert_case(
            conn,
            case_id,
            code,
            new.title.strip(),
            new.description.strip(),
            new.category,
            urgent,
            new.source,
            grid_id,
            new.lat,
            new.lon,
            new.address,
            new.station_id,
            new.alert_rule,
            new.hazard_id,
            actor.person_id,
            new.reporter_name,
            new.reporter_phone,
            new.reporter_ip,
            "accept",
            now,
            cal.add(now, limits["accept"]),
        )
        event_id, _ = await _append_event(
            conn, case_id, now, "report", None, State.REPORTED, actor, new.description.strip(),
            None, {"source": new.source},
        )  # fmt: skip
        await attach(conn, "case_event", event_id, photos, actor.name)
        if grid_id is not None:
            await grid.assign(
                conn, "case", case_id, grid_id, method=method, now=now, by=actor.name or "系统"
            )
        if new.source == "alert":
            await _run(conn, case_id, Action.ACCEPT, actor, config, now, comment="监测数据自动受理")
            _, filed = await _run(
                conn, case_id, Action.FILE, actor, config, now, comment="监测数据自动立案"
            )
            await _follow_ups(conn, filed, config, now)
        row = await _lock(conn, case_id)
    return CaseRef(row.id, row.code, State(row.state), grid_id, row.unit_id, row.deadline)


# -- transitions --------------------------------------------------------------------------------


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

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> CaseRow:
        return cls(**{f.name: r[f.name] for f in dataclasses.fields(cls)})


async def _lock(conn: asyncpg.Connection, case_id: int) -> CaseRow:
    r = await q.lock_case(conn, case_id)
    if r is None:
        raise WorkflowError(f"案件 {case_id} 不存在", "not_found")
    return CaseRow.from_record(r)


async def _save(conn: asyncpg.Connection, c: CaseRow, now: datetime) -> None:
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
    )


async def _append_event(
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


@dataclass(frozen=True, slots=True)
class TransitionResult:
    case_id: int
    from_state: State
    #: State after the automatic follow-ups (auto-dispatch, auto-archive).
    state: State
    #: Every transition applied, the requested one first.
    applied: tuple[Transition, ...]
    deadline: datetime | None
    version: int


async def _in_scope(conn: asyncpg.Connection, actor: Actor, grid_id: int | None) -> bool:
    if actor.scope is None:
        return True
    if grid_id is None:
        return False
    return bool(await q.in_scope(conn, list(actor.scope), grid_id))


async def _check_actor(conn: asyncpg.Connection, c: CaseRow, actor: Actor) -> None:
    if actor.role is Role.SYSTEM or (actor.role is Role.ADMIN and actor.scope is None):
        return
    if actor.role is Role.UNIT:
        if actor.unit_id is None or actor.unit_id != c.unit_id:
            unit = await q.unit(conn, c.unit_id) if c.unit_id else None
            where = f"派遣给了“{unit['name']}”" if unit else "尚未派遣给任何单位"
            raise WorkflowError(f"案件 {c.code} {where}，不是您的单位，不能处理", "scope")
        return
    if not await _in_scope(conn, actor, c.grid_id):
        raise WorkflowError(f"案件 {c.code} 不在您的管辖网格范围内", "scope")


async def _run(
    conn: asyncpg.Connection,
    case_id: int,
    action: Action | str,
    actor: Actor,
    config: CaseConfig,
    now: datetime,
    *,
    comment: str = "",
    unit_id: int | None = None,
    extension_minutes: int | None = None,
    photos: Sequence[StoredFile] = (),
    expected_version: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[Transition, CaseRow]:
    """One transition, no follow-ups (runs inside the caller's transaction)."""
    c = await _lock(conn, case_id)
    if expected_version is not None and expected_version != c.version:
        raise WorkflowError(
            f"案件 {c.code} 已被他人更新（版本 {c.version}），请刷新后重试", "conflict"
        )
    t = apply(c.state, action, actor.role, Switches.of(config.cases))
    await _check_actor(conn, c, actor)
    comment = comment.strip()
    if t.action in _NEEDS_REASON and not comment:
        raise WorkflowError(f"'{t.action.label}'须填写理由或说明", "input")
    if t.action is Action.FEEDBACK and not photos:
        raise WorkflowError("处置反馈须上传至少一张处置后照片", "input")
    event_data: dict[str, Any] = dict(data or {})
    event_unit: int | None = None
    cal = await load_calendar(conn, config, now)
    limits = await _limits(conn, config, c.category)

    # -- action-specific facts ------------------------------------------------------------
    if t.action is Action.DISPATCH:
        target = unit_id
        if target is None:
            grid_id = c.grid_id
            target = await people.responsible_unit(conn, grid_id, c.category) if grid_id else None
        if target is None:
            raise WorkflowError(
                f"案件 {c.code} 所在网格未配置“{c.category}”类的责任单位，请指定派遣单位",
                "input",
            )
        unit = await q.unit(conn, target)
        if unit is None or not unit["active"]:
            raise WorkflowError(f"责任单位 {target} 不存在或已停用", "input")
        c.unit_id = target
        c.handler_person_id = None
        event_unit = target
        c.dispatched_at = c.dispatched_at or now
    elif t.action is Action.CHECK_FAIL:  # 返工: back to the same unit unless told otherwise
        if unit_id is not None:
            unit = await q.unit(conn, unit_id)
            if unit is None or not unit["active"]:
                raise WorkflowError(f"责任单位 {unit_id} 不存在或已停用", "input")
            c.unit_id = unit_id
        c.rework_count += 1
        c.handler_person_id = None
        event_unit = c.unit_id
    elif t.action is Action.RETURN:
        c.return_count += 1
        event_unit = c.unit_id
    elif t.action is Action.TAKE:
        c.handler_person_id = actor.person_id
    elif t.action is Action.REQUEST_EXTENSION:
        if extension_minutes is None or not 0 < extension_minutes <= _MAX_EXTENSION_MINUTES:
            raise WorkflowError(
                f"申请延期须给出延长的工作分钟数（1–{_MAX_EXTENSION_MINUTES}）", "input"
            )
        event_data["extension_minutes"] = extension_minutes
    elif t.action is Action.APPROVE_EXTENSION:
        if extension_minutes is None:
            last = await q.last_event_data(conn, c.id, Action.REQUEST_EXTENSION.value)
            extension_minutes = int((last or {}).get("extension_minutes") or 0)
        if not 0 < extension_minutes <= _MAX_EXTENSION_MINUTES:
            raise WorkflowError("批准延期须给出延长的工作分钟数", "input")
        event_data["extension_minutes"] = extension_minutes
    elif t.action is Action.FEEDBACK:
        c.feedback_at = now
        if c.handle_deadline is not None and now > c.handle_deadline:
            c.handle_overdue = True
    elif t.action is Action.SUPERVISE:
        c.supervised = True
        c.supervised_at = now

    # -- the clock -------------------------------------------------------------------------
    kind = t.clock.kind
    if kind is Clock.START:
        assert t.clock.stage is not None
        c.stage = t.clock.stage
        c.stage_seq += 1
        c.stage_started_at = now
        c.deadline = cal.add(now, limits[t.clock.stage])
        c.paused_remaining = None
        if t.clock.stage == "handle":
            c.handle_deadline = c.deadline
        event_data["deadline"] = c.deadline.isoformat()
    elif kind is Clock.PAUSE:
        c.paused_remaining = max(0, cal.between(now, c.deadline)) if c.deadline else 0
        c.deadline = None
        c.hung_at = now
        event_data["remaining_minutes"] = c.paused_remaining
    elif kind is Clock.RESUME:
        c.stage_seq += 1
        c.deadline = cal.add(now, c.paused_remaining or 0)
        c.handle_deadline = c.deadline
        c.paused_remaining = None
        c.hung_at = None
        event_data["deadline"] = c.deadline.isoformat()
    elif kind is Clock.EXTEND:
        assert extension_minutes is not None
        base = c.deadline or now
        c.stage_seq += 1
        c.deadline = cal.add(base, extension_minutes)
        c.handle_deadline = c.deadline
        c.extension_minutes += extension_minutes
        event_data["deadline"] = c.deadline.isoformat()
    elif kind is Clock.STOP:
        c.stage = None
        c.deadline = None
        c.paused_remaining = None

    # -- milestones ---------------------------------------------------------------------------
    c.state = t.to_state.value
    if t.to_state is State.ACCEPTED:
        c.accepted_at = now
    elif t.to_state is State.FILED:
        c.filed_at = now
    elif t.to_state is State.CLOSED:
        c.closed_at = now
    elif t.to_state is State.ARCHIVED:
        c.archived_at = now
    elif t.to_state in (State.REJECTED, State.CANCELLED):
        c.ended_at = now
    c.assess_at = assess_instant(c)
    await _save(conn, c, now)
    event_id, _ = await _append_event(
        conn, c.id, now, t.action.value, t.from_state, t.to_state, actor, comment, event_unit,
        event_data,
    )  # fmt: skip
    await attach(conn, "case_event", event_id, photos, actor.name)

    if t.to_state is State.DISPATCHED and t.from_state is not t.to_state and c.unit_id:
        limit = f"{c.deadline.astimezone(config.tz):%Y-%m-%d %H:%M}" if c.deadline else "-"
        await queue_notices(
            conn, "dispatch", await people.unit_people(conn, c.unit_id), due_at=now,
            title=f"新派遣案件 {c.code}：{c.title}", body=f"处置时限：{limit}",
            dedup=f"case:{c.id}:dispatch:{c.stage_seq}", case_id=c.id,
        )  # fmt: skip
    return t, c


async def transition(
    conn: asyncpg.Connection,
    case_id: int,
    action: Action | str,
    actor: Actor,
    config: CaseConfig,
    *,
    now: datetime,
    comment: str = "",
    unit_id: int | None = None,
    extension_minutes: int | None = None,
    photos: Sequence[StoredFile] = (),
    expected_version: int | None = None,
) -> TransitionResult:
    """Take ``action`` on the case as ``actor``, then the automatic follow-ups.

    ``unit_id``: the unit for 派遣 (default: the grid's responsible unit for the category)
    or a different unit for 返工.  ``extension_minutes``: working minutes for 申请延期 /
    批准延期 (approval defaults to the requested amount).  ``photos``: already stored by
    :func:`web.casework.kernel.uploads.save_photos`.  ``expected_version``: the version the user saw
    (refused with code ``conflict`` if the case changed since).
    Raises :class:`WorkflowError` (``code`` says which kind of refusal).
    """
    async with conn.transaction():
        first, c = await _run(
            conn, case_id, action, actor, config, now, comment=comment, unit_id=unit_id,
            extension_minutes=extension_minutes, photos=photos,
            expected_version=expected_version,
        )  # fmt: skip
        applied = [first]
        applied += await _follow_ups(conn, c, config, now)
        final = await _lock(conn, case_id)
    return TransitionResult(
        case_id, first.from_state, State(final.state), tuple(applied), final.deadline,
        final.version,
    )  # fmt: skip


async def _follow_ups(
    conn: asyncpg.Connection, c: CaseRow, config: CaseConfig, now: datetime
) -> list[Transition]:
    system = Actor.system()
    done: list[Transition] = []
    state = State(c.state)
    if state is State.FILED and config.cases.auto_dispatch:
        unit = await people.responsible_unit(conn, c.grid_id, c.category) if c.grid_id else None
        if unit is None:
            await _run(
                conn, c.id, Action.NOTE, system, config, now,
                comment="自动派遣：所在网格未配置该类别的责任单位，请人工派遣",
            )  # fmt: skip
        else:
            t, c = await _run(
                conn, c.id, Action.DISPATCH, system, config, now, unit_id=unit,
                comment="按类别和网格自动派遣",
            )  # fmt: skip
            done.append(t)
    if State(c.state) is State.CLOSED and config.cases.auto_archive:
        t, c = await _run(conn, c.id, Action.ARCHIVE, system, config, now, comment="自动归档")
        done.append(t)
    return done


async def add_note(
    conn: asyncpg.Connection,
    case_id: int,
    actor: Actor,
    config: CaseConfig,
    *,
    now: datetime,
    comment: str,
    photos: Sequence[StoredFile] = (),
) -> TransitionResult:
    """A trail entry without a state change (备注)."""
    return await transition(
        conn, case_id, Action.NOTE, actor, config, now=now, comment=comment, photos=photos
    )


async def reassign_grid(
    conn: asyncpg.Connection,
    case_id: int,
    grid_id: int,
    actor: Actor,
    config: CaseConfig,
    *,
    now: datetime,
    reason: str,
) -> bool:
    """Move a case to another grid (history kept, trail entry); officers and admins only."""
    if actor.role not in (Role.ADMIN, Role.OFFICER, Role.SYSTEM):
        raise WorkflowError(f"{actor.role.label}不能调整案件所属网格；需要监督中心人员", "role")
    if not reason.strip():
        raise WorkflowError("调整网格须填写理由", "input")
    async with conn.transaction():
        c = await _lock(conn, case_id)
        await _check_actor(conn, c, actor)
        if not await _in_scope(conn, actor, grid_id):
            raise WorkflowError("目标网格不在您的管辖范围内", "scope")
        changed = await grid.assign(
            conn, "case", case_id, grid_id, method="manual", now=now, by=actor.name, reason=reason
        )
        if changed:
            state = State(c.state)
            await _append_event(
                conn, case_id, now, "reassign_grid", state, state, actor, reason.strip(), None,
                {"from_grid": c.grid_id, "to_grid": grid_id},
            )  # fmt: skip
    return changed


# -- reading ----------------------------------------------------------------------------------


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
        visible = await _in_scope(conn, actor, r["grid_id"])
    if not visible:
        raise WorkflowError(f"案件 {r['code']} 不在您的管辖范围内", "scope")
    out = dict(r)
    state = State(r["state"])
    out["state_label"] = state.label
    out["actions"] = [
        {"action": a.value, "label": a.label}
        for a in allowed_actions(state, actor.role, Switches.of(config.cases))
    ]
    return out


async def case_trail(conn: asyncpg.Connection, case_id: int) -> list[dict[str, Any]]:
    """The append-only trail with attachments, oldest first (labels resolved)."""
    out = []
    for r in await q.case_trail(conn, case_id):
        row = dict(r)
        try:
            row["action_label"] = Action(r["action"]).label
        except ValueError:
            row["action_label"] = {"report": "上报", "reassign_grid": "调整网格"}.get(
                r["action"], r["action"]
            )
        row["to_state_label"] = State(r["to_state"]).label
        out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """Filters of the case board (案件看板).  ``scope``: root area ids, None = all."""

    scope: tuple[int, ...] | None = None
    states: tuple[str, ...] | None = None
    #: True = open cases only, False = closed/terminal only, None = both.
    open: bool | None = True
    unit_id: int | None = None
    category: str | None = None
    source: str | None = None
    grid_id: int | None = None
    supervised_only: bool = False
    overdue_only: bool = False
    search: str | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 500:
            raise WorkflowError("每页条数须为 1–500", "input")
        if self.offset < 0:
            raise WorkflowError("偏移量不能为负", "input")
        if self.states is not None:
            for s in self.states:
                try:
                    State(s)
                except ValueError:
                    raise WorkflowError(f"未知的案件状态 {s!r}", "input") from None


@dataclass(frozen=True, slots=True)
class BoardPage:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def _board_args(f: BoardFilter, now: datetime, grids: frozenset[int] | None) -> list[Any]:
    return [
        sorted(grids) if grids is not None else None,
        list(f.states) if f.states is not None else None,
        f.open,
        f.unit_id,
        f.category,
        f.source,
        f.supervised_only,
        f.overdue_only,
        now,
        (f.search or "").strip() or None,
        f.grid_id,
    ]


async def case_board(
    conn: asyncpg.Connection,
    f: BoardFilter,
    *,
    now: datetime,
    with_total: bool = True,
    scope_grids: frozenset[int] | None = None,
) -> BoardPage:
    """One page of the board sorted by the running deadline (soonest first, none last).

    ``scope_grids``: ``f.scope`` already expanded to the subtrees (several pages of one
    board share one expansion)."""
    if f.scope is None:
        grids = None
    elif scope_grids is not None:
        grids = scope_grids
    else:
        grids = await tree.scope_area_ids(conn, f.scope)
    args = _board_args(f, now, grids)
    searching = args[9] is not None
    rows = await q.case_board(conn, searching, *args, f.limit, f.offset)
    out = []
    total: int | None = None
    for r in rows:
        row = dict(r)
        total = row.pop("total", None)
        row["state_label"] = State(r["state"]).label
        row["overdue"] = bool(r["deadline"] is not None and r["deadline"] < now)
        out.append(row)
    if total is None:
        if with_total and (not searching or f.offset > 0):
            total = int(await q.case_board_count(conn, *args))
        else:
            total = len(out)
    return BoardPage(out, int(total))
