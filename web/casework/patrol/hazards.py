"""Hazards (隐患): rectify → review → pass (archived), or fail → rectify again.

Theory of operation
-------------------
A failed check item opens a hazard in state ``rectifying``, round 1
(:func:`web.casework.patrol.service.submit_checklist`).  The responsible person reports the
rectification (:func:`rectify`, with photos) → ``reviewing``.  A reviewer (grid member,
officer or admin — not the person who rectified) passes it (``passed``, kept as the
archive) or fails it: back to ``rectifying``, a new round with a new rectification
deadline.  Every round is a row of ``hazard_rounds`` (who/when/note, photos attached to
the round), never overwritten.  A hazard can be escalated to a case (source ``hazard``) at
any time before it passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from web.casework.cases.intake import CaseRef, NewCase, create_case
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.people import Actor, Role
from web.casework.kernel.uploads import StoredFile, attach
from web.casework.kernel.worktime import load_calendar
from web.casework.patrol import queries as q
from web.casework.patrol.service import PatrolError

__all__ = ["HAZARD_FLOW", "HazardState", "escalate_hazard", "hazard_rounds", "rectify", "review"]

#: (state, action) → (roles, next state).  The whole hazard lifecycle.
HAZARD_FLOW: Final[dict[tuple[str, str], tuple[frozenset[Role], str]]] = {
    ("rectifying", "rectify"): (
        frozenset({Role.ADMIN, Role.OFFICER, Role.UNIT, Role.GRID_MEMBER}),
        "reviewing",
    ),
    ("reviewing", "pass"): (frozenset({Role.ADMIN, Role.OFFICER, Role.GRID_MEMBER}), "passed"),
    ("reviewing", "fail"): (frozenset({Role.ADMIN, Role.OFFICER, Role.GRID_MEMBER}), "rectifying"),
}
_LABELS: Final = {
    "rectifying": "整改中",
    "reviewing": "待复查",
    "passed": "已通过（归档）",
    "rectify": "提交整改",
    "pass": "复查通过",
    "fail": "复查不通过",
}


@dataclass(frozen=True, slots=True)
class HazardState:
    id: int
    state: str
    round: int
    rectify_deadline: datetime | None


def _step(state: str, action: str, role: Role) -> str:
    rule = HAZARD_FLOW.get((state, action))
    if rule is None:
        raise PatrolError(f"隐患处于“{_LABELS[state]}”，不能{_LABELS[action]}", "state")
    roles, nxt = rule
    if role not in roles:
        raise PatrolError(f"{role.label}不能{_LABELS[action]}", "role")
    return nxt


async def _lock(conn: asyncpg.Connection, hazard_id: int) -> asyncpg.Record:
    h = await q.lock_hazard(conn, hazard_id)
    if h is None:
        raise PatrolError(f"隐患 {hazard_id} 不存在", "not_found")
    return h


async def rectify(
    conn: asyncpg.Connection,
    hazard_id: int,
    actor: Actor,
    *,
    note: str,
    now: datetime,
    photos: Sequence[StoredFile] = (),
) -> HazardState:
    """Report the rectification of the current round (photos of the result)."""
    if not note.strip():
        raise PatrolError("请说明整改情况", "input")
    async with conn.transaction():
        h = await _lock(conn, hazard_id)
        nxt = _step(h["state"], "rectify", actor.role)
        round_id = await q.rectify_round(
            conn, hazard_id, h["round"], actor.person_id, now, note.strip()
        )
        await attach(conn, "hazard_round", int(round_id), photos, actor.name)
        await q.set_hazard_state(conn, hazard_id, nxt, h["round"], h["rectify_deadline"], None)
    return HazardState(hazard_id, nxt, h["round"], h["rectify_deadline"])


async def review(
    conn: asyncpg.Connection,
    hazard_id: int,
    actor: Actor,
    config: CaseConfig,
    *,
    passed: bool,
    note: str = "",
    now: datetime,
) -> HazardState:
    """Pass the rectification (archived) or fail it (a new round, new deadline)."""
    if not passed and not note.strip():
        raise PatrolError("复查不通过须说明原因", "input")
    async with conn.transaction():
        h = await _lock(conn, hazard_id)
        nxt = _step(h["state"], "pass" if passed else "fail", actor.role)
        rectified_by = await q.review_round(
            conn,
            hazard_id,
            h["round"],
            actor.person_id,
            now,
            "pass" if passed else "fail",
            note.strip(),
        )
        if actor.person_id is not None and rectified_by == actor.person_id:
            raise PatrolError("复查人不能是整改人本人", "role")
        if passed:
            await q.set_hazard_state(conn, hazard_id, nxt, h["round"], h["rectify_deadline"], now)
            return HazardState(hazard_id, nxt, h["round"], h["rectify_deadline"])
        cal = await load_calendar(conn, config, now)
        deadline = cal.add(now, config.cases.hazard_rectify_minutes)
        new_round = h["round"] + 1
        await q.insert_round(conn, hazard_id, new_round)
        await q.set_hazard_state(conn, hazard_id, nxt, new_round, deadline, None)
    return HazardState(hazard_id, nxt, new_round, deadline)


async def hazard_rounds(conn: asyncpg.Connection, hazard_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await q.hazard_rounds(conn, hazard_id)]


async def escalate_hazard(
    conn: asyncpg.Connection,
    hazard_id: int,
    actor: Actor,
    config: CaseConfig,
    *,
    now: datetime,
    category: str = "patrol.hazard",
) -> CaseRef:
    """Open a case (source 巡查隐患) for the hazard and link it."""
    async with conn.transaction():
        h = await _lock(conn, hazard_id)
        if h["case_id"] is not None:
            raise PatrolError(f"隐患已转为案件 {h['case_id']}", "state")
        if h["state"] == "passed":
            raise PatrolError("隐患已复查通过，无需转案件", "state")
        lat = lon = None
        if h["target"] in ("station", "point"):
            pos = await q.target_position(conn, h["target"], h["target_id"])
            if pos is not None:
                lat, lon = pos["lat"], pos["lon"]
        ref = await create_case(
            conn,
            NewCase(
                title=f"巡查隐患：{h['title']}"[:200],
                category=category,
                source="hazard",
                description=h["description"],
                lat=lat,
                lon=lon,
                grid_id=h["grid_id"],
                station_id=h["target_id"] if h["target"] == "station" else None,
                hazard_id=hazard_id,
            ),
            actor,
            config,
            now=now,
        )
        await q.set_hazard_case(conn, hazard_id, ref.id)
    return ref
