"""A new case (登记): validation by source and role, the place (grid by position when
not given), the report event, then the automatic follow-ups (accept, file, dispatch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import asyncpg

from web.casework.cases import queries as q
from web.casework.cases.record import (
    append_event,
    lock_case,
    stage_limits,
)
from web.casework.cases.service import follow_ups, run_action
from web.casework.cases.workflow import (
    Action,
    State,
)
from web.casework.grid import service as grid
from web.casework.grid.geo import GridIndex
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Actor, Role
from web.casework.kernel.quotas import check_case_room
from web.casework.kernel.uploads import StoredFile, attach
from web.casework.kernel.worktime import load_calendar

__all__ = ["SOURCES", "CaseRef", "NewCase", "create_case"]


SOURCES: Final = ("alert", "hazard", "complaint", "manual")


_SOURCE_LABELS: Final = {"alert": "监测告警", "hazard": "巡查隐患", "complaint": "群众投诉",
                         "manual": "人工录入"}  # fmt: skip


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
        limits = await stage_limits(conn, config, new.category)
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
        event_id, _ = await append_event(
            conn, case_id, now, "report", None, State.REPORTED, actor, new.description.strip(),
            None, {"source": new.source},
        )  # fmt: skip
        await check_case_room(conn, case_id, photos, config.cases)
        await attach(conn, "case_event", event_id, photos, actor.name)
        if grid_id is not None:
            await grid.assign(
                conn, "case", case_id, grid_id, method=method, now=now, by=actor.name or "系统"
            )
        if new.source == "alert":
            await run_action(
                conn, case_id, Action.ACCEPT, actor, config, now, comment="监测数据自动受理"
            )
            _, filed = await run_action(
                conn, case_id, Action.FILE, actor, config, now, comment="监测数据自动立案"
            )
            await follow_ups(conn, filed, config, now)
        row = await lock_case(conn, case_id)
    return CaseRef(row.id, row.code, State(row.state), grid_id, row.unit_id, row.deadline)
