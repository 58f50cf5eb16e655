"""Stage deadlines: reminders, due notices, escalation (督办) — and the notice outbox.

Theory of operation
-------------------
:func:`case_deadline_sweep` is a scheduler job (run it every minute or so).  For each open
case whose running stage deadline is near or past it does, at most once per stage
(``stage_seq``; a new stage, an extension or a resume starts a new one):

* **reminder** — the deadline is at most ``cases.reminder_lead_minutes`` working minutes
  away: notices to the people who must act (``reminded_seq``);
* **due** — the deadline has passed: a notice to the same people; in the 处置 stage the
  case is marked ``handle_overdue`` (it will not count as 按期结案) (``overdue_seq``);
* **escalation** — the deadline passed ``cases.escalate_after_minutes`` working minutes
  ago: a 督办 entry in the trail (``supervised``) and notices to the grid heads and the
  command centre (``escalated_seq``).

Who must act, by stage: 受理/立案/派遣/回访/结案 — the officers (监督/指挥中心); 核实 and
核查 — the grid members of the case's grid (nearest area up that has some); 处置 — the
handler who took the case, else every person of the unit.

Notices go to the ``case_notices`` outbox with a unique ``dedup_key`` (so a job that runs
twice, or twice at once, queues nothing twice); they are sent through the alert notifiers
by
:func:`web.casework.cases.notify.send_case_notices` (claim with a lease, retries, delivery log).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

from web.casework.cases import queries as q
from web.casework.cases.record import CaseRow, lock_case
from web.casework.cases.service import run_action
from web.casework.cases.workflow import Action, State
from web.casework.kernel import people
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.notices import queue_notices
from web.casework.kernel.people import Actor
from web.casework.kernel.worktime import load_calendar

__all__ = [
    "case_deadline_sweep",
    "stage_recipients",
]

_STAGE_LABELS: Final = {
    "accept": "受理",
    "verify": "核实",
    "file": "立案",
    "dispatch": "派遣",
    "handle": "处置",
    "check": "核查",
    "visit": "回访",
    "close": "结案",
}
_BATCH: Final = 500


async def stage_recipients(conn: asyncpg.Connection, c: CaseRow) -> list[int]:
    """Person ids who must act in the case's running stage."""
    if c.stage in ("verify", "check"):
        return await people.duty_people(conn, c.grid_id, "member") if c.grid_id else []
    if c.stage == "handle":
        if c.handler_person_id is not None:
            return [c.handler_person_id]
        return await people.unit_people(conn, c.unit_id) if c.unit_id else []
    return await people.role_people(conn, "officer")


async def _sweep_one(
    conn: asyncpg.Connection, case_id: int, config: CaseConfig, now: datetime,
    remind_bound: datetime, escalate_bound: datetime,
) -> int:  # fmt: skip
    done = 0
    async with conn.transaction():
        c = await lock_case(conn, case_id)
        if c.deadline is None or State(c.state) not in _SWEPT:
            return 0
        stage = _STAGE_LABELS.get(c.stage or "", c.stage or "")
        local_deadline = c.deadline.astimezone(config.tz)
        when = f"{local_deadline:%Y-%m-%d %H:%M}"
        seq = c.stage_seq
        key = f"case:{c.id}:{seq}"
        if c.deadline > now and c.reminded_seq != seq and c.deadline <= remind_bound:
            done += await queue_notices(
                conn, "reminder", await stage_recipients(conn, c), due_at=now,
                title=f"案件 {c.code} {stage}即将到期", body=f"{c.title}；{stage}时限 {when}",
                dedup=f"{key}:reminder", case_id=c.id,
            )  # fmt: skip
            await q.mark_reminded(conn, c.id, seq)
            return done
        if c.deadline <= now and c.overdue_seq != seq:
            done += await queue_notices(
                conn, "due", await stage_recipients(conn, c), due_at=now,
                title=f"案件 {c.code} {stage}已到期", body=f"{c.title}；{stage}时限 {when}",
                dedup=f"{key}:due", case_id=c.id,
            )  # fmt: skip
            await q.mark_overdue(conn, c.id, seq, c.stage == "handle")
        if c.deadline <= escalate_bound and c.escalated_seq != seq:
            await run_action(
                conn, c.id, Action.SUPERVISE, Actor.system("系统督办"), config, now,
                comment=f"{stage}超期，系统自动督办（时限 {when}）",
                data={"stage": c.stage, "deadline": c.deadline.isoformat()},
            )  # fmt: skip
            await q.mark_escalated(conn, c.id, seq)
            heads = await people.duty_people(conn, c.grid_id, "head") if c.grid_id else []
            officers = await people.role_people(conn, "officer")
            done += 1 + await queue_notices(
                conn, "escalation", sorted(set(heads) | set(officers)), due_at=now,
                title=f"督办：案件 {c.code} {stage}超期", body=f"{c.title}；{stage}时限 {when}",
                dedup=f"{key}:escalation", case_id=c.id,
            )  # fmt: skip
    return done


_SWEPT: Final = frozenset(State) - {
    State.CLOSED, State.ARCHIVED, State.REJECTED, State.CANCELLED, State.HUNG
}  # fmt: skip


async def case_deadline_sweep(
    pool: asyncpg.Pool, now: datetime, config: CaseConfig | None = None
) -> int:
    """Scheduler job: reminders, due notices and escalations; returns how many were made.

    Idempotent: each is made once per case stage, however often the job runs.
    """
    config = config or CaseConfig()
    total = 0
    async with pool.acquire() as conn:
        cal = await load_calendar(conn, config, now)
        remind_bound = cal.add(now, config.cases.reminder_lead_minutes)
        escalate_bound = cal.add(now, -config.cases.escalate_after_minutes)
        while True:
            ids = [
                r["id"]
                for r in await q.sweep_candidates(conn, remind_bound, now, escalate_bound, _BATCH)
            ]
            for case_id in ids:
                total += await _sweep_one(conn, case_id, config, now, remind_bound, escalate_bound)
            if len(ids) < _BATCH:
                break
    return total
