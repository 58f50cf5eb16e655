"""Case transitions: the stage clock, the trail, the automatic follow-ups, notes and grid changes.

Theory of operation
-------------------
Every change of a case happens in :func:`transition` (a new case:
:func:`.intake.create_case`), inside one transaction on a ``SELECT … FOR UPDATE``-locked
row:

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypedDict, Unpack

import asyncpg

from web.casework.cases import queries as q
from web.casework.cases.record import (
    CaseRow,
    append_event,
    assess_instant,
    in_actor_scope,
    lock_case,
    save_case,
    stage_limits,
)
from web.casework.cases.workflow import (
    Action,
    Clock,
    State,
    Switches,
    Transition,
    apply,
)
from web.casework.grid import service as grid
from web.casework.kernel import people
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.notices import queue_notices
from web.casework.kernel.people import Actor, Role
from web.casework.kernel.quotas import check_case_room
from web.casework.kernel.uploads import StoredFile, attach
from web.casework.kernel.worktime import load_calendar

__all__ = [
    "TransitionResult",
    "add_note",
    "follow_ups",
    "reassign_grid",
    "run_action",
    "transition",
]

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
        Action.CLOSE_RECOVERED,
    }
)
_MAX_EXTENSION_MINUTES: Final = 450 * 60  # 60 working days


# -- transitions --------------------------------------------------------------------------------


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


async def _check_actor(conn: asyncpg.Connection, c: CaseRow, actor: Actor) -> None:
    if actor.role is Role.SYSTEM or (actor.role is Role.ADMIN and actor.scope is None):
        return
    if actor.role is Role.UNIT:
        if actor.unit_id is None or actor.unit_id != c.unit_id:
            unit = await q.unit(conn, c.unit_id) if c.unit_id else None
            where = f"派遣给了“{unit['name']}”" if unit else "尚未派遣给任何单位"
            raise WorkflowError(f"案件 {c.code} {where}，不是您的单位，不能处理", "scope")
        return
    if not await in_actor_scope(conn, actor, c.grid_id):
        raise WorkflowError(f"案件 {c.code} 不在您的管辖网格范围内", "scope")


class ActionOptions(TypedDict, total=False):
    """The optional keywords of :func:`transition` (passed on to :func:`run_action`)."""

    comment: str
    unit_id: int | None
    extension_minutes: int | None
    photos: Sequence[StoredFile]
    expected_version: int | None


async def run_action(
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
    c = await lock_case(conn, case_id)
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
    limits = await stage_limits(conn, config, c.category)

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
    elif t.action is Action.CLOSE_RECOVERED:  # 恢复结案 / 自动恢复
        if c.source != "alert" or c.recovered_at is None:
            raise WorkflowError(
                f"案件 {c.code} 的告警尚未全部恢复，不能一步结案；请按流程处置后结案", "state"
            )
        c.close_kind = "auto_recovered" if actor.role is Role.SYSTEM else "recovered"
        event_data["recovered_at"] = c.recovered_at.isoformat()

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
    await check_case_room(conn, c.id, photos, config.cases)
    await save_case(conn, c, now)
    event_id, _ = await append_event(
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
    conn: asyncpg.Connection, case_id: int, action: Action | str, actor: Actor,
    config: CaseConfig, *, now: datetime, **options: Unpack[ActionOptions],
) -> TransitionResult:  # fmt: skip
    """Take ``action`` on the case as ``actor``, then the automatic follow-ups.

    ``unit_id``: the unit for 派遣 (default: the grid's responsible unit for the category)
    or a different unit for 返工.  ``extension_minutes``: working minutes for 申请延期 /
    批准延期 (approval defaults to the requested amount).  ``photos``: already stored by
    :func:`web.casework.kernel.uploads.save_photos`.  ``expected_version``: the version the user saw
    (refused with code ``conflict`` if the case changed since).
    Raises :class:`WorkflowError` (``code`` says which kind of refusal).
    """
    async with conn.transaction():
        first, c = await run_action(conn, case_id, action, actor, config, now, **options)
        applied = [first]
        applied += await follow_ups(conn, c, config, now)
        final = await lock_case(conn, case_id)
    return TransitionResult(
        case_id, first.from_state, State(final.state), tuple(applied), final.deadline,
        final.version,
    )  # fmt: skip


async def follow_ups(
    conn: asyncpg.Connection, c: CaseRow, config: CaseConfig, now: datetime
) -> list[Transition]:
    system = Actor.system()
    done: list[Transition] = []
    state = State(c.state)
    if state is State.FILED and config.cases.auto_dispatch:
        unit = await people.responsible_unit(conn, c.grid_id, c.category) if c.grid_id else None
        if unit is None:
            await run_action(
                conn, c.id, Action.NOTE, system, config, now,
                comment="自动派遣：所在网格未配置该类别的责任单位，请人工派遣",
            )  # fmt: skip
        else:
            t, c = await run_action(
                conn, c.id, Action.DISPATCH, system, config, now, unit_id=unit,
                comment="按类别和网格自动派遣",
            )  # fmt: skip
            done.append(t)
    if State(c.state) is State.CLOSED and config.cases.auto_archive:
        t, c = await run_action(conn, c.id, Action.ARCHIVE, system, config, now, comment="自动归档")
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
        c = await lock_case(conn, case_id)
        await _check_actor(conn, c, actor)
        if not await in_actor_scope(conn, actor, grid_id):
            raise WorkflowError("目标网格不在您的管辖范围内", "scope")
        changed = await grid.assign(
            conn, "case", case_id, grid_id, method="manual", now=now, by=actor.name, reason=reason
        )
        if changed:
            state = State(c.state)
            await append_event(
                conn, case_id, now, "reassign_grid", state, state, actor, reason.strip(), None,
                {"from_grid": c.grid_id, "to_grid": grid_id},
            )  # fmt: skip
    return changed
