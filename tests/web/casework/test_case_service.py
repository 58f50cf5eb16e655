"""Case services against PostgreSQL: lifecycle, data-level checks, the clock, the trail."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.web.casework.conftest import JPEG, NOW, TZ, World
from web.casework.cases import board, intake, record
from web.casework.cases import service as cs
from web.casework.cases.board import BoardFilter
from web.casework.cases.deadlines import case_deadline_sweep
from web.casework.cases.intake import NewCase
from web.casework.cases.workflow import State
from web.casework.kernel import people
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Actor, Role
from web.casework.kernel.uploads import StoredFile, store_upload, strip_metadata


def t(m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2024, m, d, h, mi, tzinfo=TZ)


def photo(config: CaseConfig) -> StoredFile:
    return store_upload(
        config.uploads_dir, JPEG, max_bytes=1 << 20, now=NOW, original_name="现场.jpg"
    )


async def new_case(conn: asyncpg.Connection, world: World, config: CaseConfig, **kw: object) -> int:
    fields = {
        "title": "河道垃圾堆积",
        "category": "other",
        "source": "manual",
        "grid_id": world.areas["G1"],
        "lat": 30.05,
        "lon": 120.05,
        **kw,
    }
    ref = await intake.create_case(conn, NewCase(**fields), world.officer, config, now=NOW)  # type: ignore[arg-type]
    return ref.id


async def dispatched_case(conn: asyncpg.Connection, world: World, config: CaseConfig) -> int:
    case_id = await new_case(conn, world, config)
    await cs.transition(conn, case_id, "accept", world.officer, config, now=NOW)
    result = await cs.transition(conn, case_id, "file", world.officer, config, now=NOW)
    assert result.state is State.DISPATCHED
    return case_id


async def test_full_lifecycle_with_rework(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    case_id = await new_case(db_conn, world, config)
    row = await db_conn.fetchrow(
        "SELECT code, state, deadline, grid_id FROM cases WHERE id = $1", case_id
    )
    assert row["state"] == "reported" and row["code"] == f"AJ20240304{case_id:06d}"
    assert row["deadline"] == t(3, 4, 10)  # 受理时限 60 working minutes
    await cs.transition(db_conn, case_id, "accept", world.officer, config, now=NOW)
    result = await cs.transition(db_conn, case_id, "file", world.officer, config, now=NOW)
    # auto-dispatch to the district's unit; 处置时限 = 1350 working minutes (3 days) → Thu 09:00
    assert [a.action.value for a in result.applied] == ["file", "dispatch"]
    assert result.state is State.DISPATCHED
    assert result.deadline == t(3, 7, 9)
    notices = await db_conn.fetch("SELECT kind, recipient_person_id FROM case_notices")
    assert [(n["kind"], n["recipient_person_id"]) for n in notices] == [
        ("dispatch", world.people["H"])
    ]

    # another unit may not take it
    water = world.actor("H2", Role.UNIT, "U_WATER")
    with pytest.raises(WorkflowError, match="派遣给了“生态环境分局”，不是您的单位") as info:
        await cs.transition(db_conn, case_id, "take", water, config, now=NOW)
    assert info.value.code == "scope"
    later = NOW + timedelta(hours=1)
    await cs.transition(db_conn, case_id, "take", world.handler, config, now=later)
    with pytest.raises(WorkflowError, match="至少一张处置后照片"):
        await cs.transition(db_conn, case_id, "feedback", world.handler, config, now=later)
    pic = photo(config)
    await cs.transition(
        db_conn,
        case_id,
        "feedback",
        world.handler,
        config,
        now=later,
        comment="已清理",
        photos=[pic],
    )
    await cs.transition(db_conn, case_id, "send_check", world.officer, config, now=later)
    with pytest.raises(WorkflowError, match="须填写理由"):
        await cs.transition(db_conn, case_id, "check_fail", world.member, config, now=later)
    result = await cs.transition(
        db_conn, case_id, "check_fail", world.member, config, now=later, comment="仍有残留"
    )
    assert result.state is State.DISPATCHED
    assert result.deadline == t(3, 7, 10)  # a new 处置时限 from the rework dispatch
    await cs.transition(db_conn, case_id, "take", world.handler, config, now=later)
    await cs.transition(
        db_conn, case_id, "feedback", world.handler, config, now=later, photos=[pic]
    )
    await cs.transition(db_conn, case_id, "send_check", world.officer, config, now=later)
    await cs.transition(db_conn, case_id, "check_pass", world.member, config, now=later)
    result = await cs.transition(db_conn, case_id, "close", world.officer, config, now=later)
    assert result.state is State.ARCHIVED  # auto-archive
    assert [a.action.value for a in result.applied] == ["close", "archive"]

    row = await db_conn.fetchrow("SELECT * FROM cases WHERE id = $1", case_id)
    assert row["rework_count"] == 1 and not row["handle_overdue"]
    assert row["closed_at"] == later and row["archived_at"] == later
    assert row["assess_at"] == later  # closed before its deadline
    assert row["deadline"] is None and row["stage"] is None

    trail = await record.case_trail(db_conn, case_id)
    assert [e["action"] for e in trail] == [
        "report",
        "accept",
        "file",
        "dispatch",
        "take",
        "feedback",
        "send_check",
        "check_fail",
        "take",
        "feedback",
        "send_check",
        "check_pass",
        "close",
        "archive",
    ]
    assert [e["seq"] for e in trail] == list(range(1, 15))
    assert trail[3]["role"] == "system" and trail[3]["unit_name"] == "生态环境分局"
    assert trail[5]["attachments"][0]["path"] == pic.path
    assert trail[7]["comment"] == "仍有残留" and trail[7]["actor_name"] == "GM"
    assert trail[7]["action_label"] == "核查不通过（返工）"
    assert (config.uploads_dir / pic.path).read_bytes() == strip_metadata(JPEG, "image/jpeg")

    # the trail is append-only
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db_conn.execute("UPDATE case_events SET comment = 'x' WHERE case_id = $1", case_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db_conn.execute("DELETE FROM case_events WHERE case_id = $1", case_id)
    with pytest.raises(WorkflowError, match="案件已归档（已终结）"):
        await cs.transition(db_conn, case_id, "note", world.officer, config, now=later, comment="x")


async def test_roles_scope_and_versions(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    case_id = await new_case(db_conn, world, config)
    viewer = world.actor("V", Role.VIEWER)
    with pytest.raises(WorkflowError, match="查看人员只能查看案件") as info:
        await cs.transition(db_conn, case_id, "accept", viewer, config, now=NOW)
    assert info.value.code == "role"
    # an officer scoped to district 2 cannot act on a district-1 case
    scoped = dataclasses.replace(world.officer, scope=(world.areas["D2"],))
    with pytest.raises(WorkflowError, match="不在您的管辖网格范围内"):
        await cs.transition(db_conn, case_id, "accept", scoped, config, now=NOW)
    with pytest.raises(WorkflowError, match="不在您的管辖范围内"):
        await record.get_case(db_conn, case_id, scoped, config)
    view = await record.get_case(db_conn, case_id, world.officer, config)
    assert view["state_label"] == "已上报" and view["grid_name"] == "网格一"
    assert [a["action"] for a in view["actions"]] == ["accept", "reject", "supervise", "note"]
    # stale form
    with pytest.raises(WorkflowError, match="已被他人更新") as info:
        await cs.transition(
            db_conn,
            case_id,
            "accept",
            world.officer,
            config,
            now=NOW,
            expected_version=view["version"] + 1,
        )
    assert info.value.code == "conflict"
    await cs.transition(
        db_conn, case_id, "accept", world.officer, config, now=NOW, expected_version=view["version"]
    )
    # units cannot register cases; the public source is the system's
    with pytest.raises(WorkflowError, match="不能登记来源"):
        await intake.create_case(
            db_conn, NewCase("x", "other", "manual"), world.handler, config, now=NOW
        )
    with pytest.raises(WorkflowError, match="未知或已停用的案件类别"):
        await intake.create_case(
            db_conn, NewCase("x", "nope", "manual"), world.officer, config, now=NOW
        )


async def test_return_and_redispatch(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    case_id = await dispatched_case(db_conn, world, config)
    with pytest.raises(WorkflowError, match="'回退'须填写理由"):
        await cs.transition(db_conn, case_id, "return", world.handler, config, now=NOW)
    result = await cs.transition(
        db_conn, case_id, "return", world.handler, config, now=NOW, comment="属水务管辖"
    )
    assert result.state is State.RETURNED
    assert result.deadline == t(3, 4, 10)  # 派遣时限 again
    result = await cs.transition(
        db_conn, case_id, "dispatch", world.officer, config, now=NOW, unit_id=world.units["U_WATER"]
    )
    row = await db_conn.fetchrow("SELECT unit_id, return_count FROM cases WHERE id = $1", case_id)
    assert row["unit_id"] == world.units["U_WATER"] and row["return_count"] == 1


async def test_extension_and_hang_clock(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    case_id = await dispatched_case(db_conn, world, config)  # 处置时限 Thu 3/7 09:00
    h = world.handler
    await cs.transition(db_conn, case_id, "take", h, config, now=NOW)
    with pytest.raises(WorkflowError, match="延长的工作分钟数"):
        await cs.transition(db_conn, case_id, "request_extension", h, config, now=NOW)
    await cs.transition(
        db_conn,
        case_id,
        "request_extension",
        h,
        config,
        now=NOW,
        extension_minutes=450,
        comment="需协调清运车辆",
    )
    result = await cs.transition(
        db_conn, case_id, "approve_extension", world.officer, config, now=NOW
    )
    assert result.state is State.HANDLING and result.deadline == t(3, 8, 9)  # + 1 working day
    await cs.transition(
        db_conn, case_id, "request_hang", h, config, now=t(3, 5, 9), comment="等待上级资金"
    )
    result = await cs.transition(
        db_conn, case_id, "approve_hang", world.officer, config, now=t(3, 5, 9)
    )
    assert result.state is State.HUNG and result.deadline is None
    row = await db_conn.fetchrow(
        "SELECT paused_remaining, assess_at, extension_minutes FROM cases WHERE id = $1", case_id
    )
    assert row["paused_remaining"] == 1350  # Tue 09:00 → Fri 09:00
    assert row["assess_at"] == t(3, 5, 9)  # counts as 缓办 when it was hung
    assert row["extension_minutes"] == 450
    # a week later conditions allow: the remaining 3 working days start again
    result = await cs.transition(db_conn, case_id, "resume", world.officer, config, now=t(3, 11, 9))
    assert result.state is State.HANDLING and result.deadline == t(3, 14, 9)


async def test_verify_step(db_conn: asyncpg.Connection, world: World, config: CaseConfig) -> None:
    on = dataclasses.replace(config, cases=dataclasses.replace(config.cases, verify_step=True))
    case_id = await new_case(db_conn, world, on)
    with pytest.raises(WorkflowError, match="已开启核实环节"):
        await cs.transition(db_conn, case_id, "accept", world.officer, on, now=NOW)
    await cs.transition(db_conn, case_id, "verify", world.officer, on, now=NOW)
    result = await cs.transition(db_conn, case_id, "verify_ok", world.member, on, now=NOW)
    assert result.state is State.ACCEPTED


async def test_auto_dispatch_off_and_no_unit(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    off = dataclasses.replace(config, cases=dataclasses.replace(config.cases, auto_dispatch=False))
    case_id = await new_case(db_conn, world, off)
    await cs.transition(db_conn, case_id, "accept", world.officer, off, now=NOW)
    result = await cs.transition(db_conn, case_id, "file", world.officer, off, now=NOW)
    assert result.state is State.FILED
    # auto-dispatch on, but the case has no grid → a note asks for a manual dispatch
    orphan = await new_case(db_conn, world, config, grid_id=None)
    await cs.transition(db_conn, orphan, "accept", world.officer, config, now=NOW)
    result = await cs.transition(db_conn, orphan, "file", world.officer, config, now=NOW)
    assert result.state is State.FILED
    trail = await record.case_trail(db_conn, orphan)
    assert "请人工派遣" in trail[-1]["comment"]
    with pytest.raises(WorkflowError, match="请指定派遣单位"):
        await cs.transition(db_conn, orphan, "dispatch", world.officer, config, now=NOW)
    assert await cs.reassign_grid(
        db_conn, orphan, world.areas["G2"], world.officer, config, now=NOW, reason="位置核实后调整"
    )
    result = await cs.transition(db_conn, orphan, "dispatch", world.officer, config, now=NOW)
    assert result.state is State.DISPATCHED


async def test_board_filters_and_scope(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    ids = [await dispatched_case(db_conn, world, config) for _ in range(3)]
    other = await new_case(db_conn, world, config, grid_id=world.areas["G3"], title="噪声扰民")
    page = await board.case_board(db_conn, BoardFilter(), now=NOW)
    assert page.total == 4
    assert [r["id"] for r in page.rows][:1] == [other]  # 受理时限 10:00 comes first
    d2 = await board.case_board(db_conn, BoardFilter(scope=(world.areas["D2"],)), now=NOW)
    assert [r["id"] for r in d2.rows] == [other]
    handling = await board.case_board(
        db_conn, BoardFilter(states=("dispatched",), limit=2), now=NOW
    )
    assert handling.total == 3 and len(handling.rows) == 2
    assert handling.rows[0]["unit_name"] == "生态环境分局"
    found = await board.case_board(db_conn, BoardFilter(search="噪声"), now=NOW)
    assert [r["id"] for r in found.rows] == [other]
    late = await board.case_board(db_conn, BoardFilter(overdue_only=True), now=t(3, 8, 9))
    assert {r["id"] for r in late.rows} == {*ids, other}
    assert late.rows[0]["overdue"] is True
    with pytest.raises(WorkflowError, match="未知的案件状态"):
        BoardFilter(states=("done",))


async def _due_notices(conn: asyncpg.Connection, now: datetime) -> list[asyncpg.Record]:
    """The outbox's unsent notices due by ``now`` (what the sender would claim)."""
    return await conn.fetch(
        "SELECT id, kind, recipient_person_id, title FROM case_notices"
        " WHERE sent_at IS NULL AND status = 'queued' AND due_at <= $1 ORDER BY due_at, id",
        now,
    )


async def test_deadline_sweep_is_idempotent(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    case_id = await dispatched_case(db_conn, world, config)  # 处置时限 Thu 3/7 09:00
    await db_conn.execute("DELETE FROM case_notices WHERE kind = 'dispatch'")
    assert await case_deadline_sweep(db_pool, t(3, 6, 9), config) == 0  # far from it
    # 60 working minutes before: reminder to the unit's people
    assert await case_deadline_sweep(db_pool, t(3, 6, 17), config) == 1
    assert await case_deadline_sweep(db_pool, t(3, 6, 17, 10), config) == 0
    # past the deadline: due notice + 督办 (escalate_after 0) to the grid head and officers
    made = await case_deadline_sweep(db_pool, t(3, 7, 9, 5), config)
    assert made == 1 + 1 + 2
    assert await case_deadline_sweep(db_pool, t(3, 7, 9, 6), config) == 0
    row = await db_conn.fetchrow(
        "SELECT supervised, handle_overdue FROM cases WHERE id = $1", case_id
    )
    assert row["supervised"] and row["handle_overdue"]
    trail = await record.case_trail(db_conn, case_id)
    assert trail[-1]["action"] == "supervise" and trail[-1]["actor_name"] == "系统督办"
    notices = await _due_notices(db_conn, t(3, 7, 10))
    kinds = sorted((n["kind"], n["recipient_person_id"]) for n in notices)
    p = world.people
    assert kinds == sorted(
        [("reminder", p["H"]), ("due", p["H"]), ("escalation", p["GH"]), ("escalation", p["O"])]
    )
    assert all(n["title"].startswith(("案件", "督办")) for n in notices)
    await db_conn.execute(
        "UPDATE case_notices SET sent_at = $2, status = 'sent' WHERE id = ANY($1::bigint[])",
        [n["id"] for n in notices],
        t(3, 7, 10),
    )
    assert await _due_notices(db_conn, t(3, 7, 10)) == []
    # an extension starts a new stage clock: reminders again before the new deadline
    await cs.transition(db_conn, case_id, "take", world.handler, config, now=t(3, 7, 10))
    await cs.transition(
        db_conn,
        case_id,
        "request_extension",
        world.handler,
        config,
        now=t(3, 7, 10),
        extension_minutes=900,
    )
    await cs.transition(
        db_conn, case_id, "approve_extension", world.officer, config, now=t(3, 7, 10)
    )
    assert await case_deadline_sweep(db_pool, t(3, 8, 17), config) == 1  # new deadline Mon 09:00


async def test_system_actor_and_person_lookup(db_conn: asyncpg.Connection, world: World) -> None:
    actor = await people.actor_for_person(db_conn, world.people["H"], scope=None)
    assert actor.role is Role.UNIT and actor.unit_id == world.units["U_ENV"]
    assert Actor.system().role is Role.SYSTEM
    with pytest.raises(WorkflowError, match="不存在或已停用"):
        await people.actor_for_person(db_conn, 999999)
