"""Units and people of the grid, their workflow roles and area duties, and the
:class:`Actor` a person acts as (who may do what is decided by the case workflow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

import asyncpg

from web.casework.kernel import queries as q
from web.casework.kernel.errors import GridError, WorkflowError

__all__ = [
    "Actor",
    "Duty",
    "Person",
    "Role",
    "actor_for_person",
    "area_people",
    "create_person",
    "create_unit",
    "duty_people",
    "get_person",
    "person_by_user",
    "remove_duty",
    "responsible_unit",
    "role_people",
    "set_area_unit",
    "set_duty",
    "unit_people",
]

Duty = Literal["head", "member", "supervisor"]


class Role(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    UNIT = "unit"
    GRID_MEMBER = "grid_member"
    VIEWER = "viewer"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS: Final = {
    Role.ADMIN: "管理员",
    Role.OFFICER: "监督/指挥中心人员",
    Role.UNIT: "单位",
    Role.GRID_MEMBER: "网格员",
    Role.VIEWER: "查看人员",
    Role.SYSTEM: "系统",
}


_ROLES: Final = ("admin", "officer", "unit", "grid_member", "viewer")


_DUTIES: Final = ("head", "member", "supervisor")


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    phone: str
    role: str
    unit_id: int | None
    user_name: str | None
    active: bool

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Person:
        return cls(
            r["id"], r["name"], r["phone"], r["role"], r["unit_id"], r["user_name"], r["active"]
        )


async def create_unit(
    conn: asyncpg.Connection, code: str, name: str, *, kind: str = "department", phone: str = ""
) -> int:
    try:
        return int(await q.insert_unit(conn, code, name, kind, phone))
    except asyncpg.UniqueViolationError:
        raise GridError(f"单位编码 {code} 已存在") from None


async def create_person(
    conn: asyncpg.Connection,
    name: str,
    role: str,
    *,
    phone: str = "",
    unit_id: int | None = None,
    user_name: str | None = None,
) -> int:
    """A grid person; ``role`` is the workflow role (admin/officer/unit/grid_member/viewer)."""
    if role not in _ROLES:
        raise GridError(f"角色须为 {'/'.join(_ROLES)} 之一（收到 {role!r}）")
    if role == "unit" and unit_id is None:
        raise GridError("单位人员须指定所属单位")
    try:
        return int(await q.insert_person(conn, name, phone, role, unit_id, user_name))
    except asyncpg.UniqueViolationError:
        raise GridError(f"登录名 {user_name} 已关联其他人员") from None


async def get_person(conn: asyncpg.Connection, person_id: int) -> Person | None:
    row = await q.get_person(conn, person_id)
    return Person.from_record(row) if row else None


async def person_by_user(conn: asyncpg.Connection, user_name: str) -> Person | None:
    """The grid person linked to a dashboard login (the web layer's entry point)."""
    row = await q.person_by_user(conn, user_name)
    return Person.from_record(row) if row else None


async def set_duty(conn: asyncpg.Connection, area_id: int, person_id: int, duty: Duty) -> None:
    """Make the person grid head / member / supervisor of the area."""
    if duty not in _DUTIES:
        raise GridError(f"职责须为 head/member/supervisor 之一（收到 {duty!r}）")
    await q.set_duty(conn, area_id, person_id, duty)


async def remove_duty(conn: asyncpg.Connection, area_id: int, person_id: int, duty: Duty) -> bool:
    return str(await q.remove_duty(conn, area_id, person_id, duty)) != "DELETE 0"


async def area_people(
    conn: asyncpg.Connection, area_id: int, duty: Duty | None = None
) -> list[asyncpg.Record]:
    """(id, name, phone, role, duty) of the people with a duty in the area."""
    return list(await q.area_people(conn, area_id, duty))


async def duty_people(conn: asyncpg.Connection, area_id: int, duty: Duty) -> list[int]:
    """Ids of people with ``duty`` in the area, else in its nearest ancestor that has some."""
    return [r["id"] for r in await q.nearest_duty_people(conn, area_id, duty)]


async def unit_people(conn: asyncpg.Connection, unit_id: int) -> list[int]:
    return [r["id"] for r in await q.unit_people(conn, unit_id)]


async def role_people(conn: asyncpg.Connection, role: str) -> list[int]:
    return [r["id"] for r in await q.role_people(conn, role)]


async def set_area_unit(
    conn: asyncpg.Connection, area_id: int, unit_id: int, category: str = "*"
) -> None:
    """The unit responsible for ``category`` cases in the area ('*' = every category)."""
    await q.set_area_unit(conn, area_id, category, unit_id)


async def responsible_unit(conn: asyncpg.Connection, area_id: int, category: str) -> int | None:
    """The unit cases of ``category`` in the area go to, walking up the hierarchy.

    An exact category mapping anywhere above beats a '*' mapping; nearer areas win ties.
    """
    value = await q.responsible_unit(conn, area_id, category)
    return int(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the workflow role and, for people, their grid person id / unit / scope."""

    role: Role
    person_id: int | None = None
    name: str = ""
    unit_id: int | None = None
    #: Root area ids of the data scope (None = everything), as web Principal.scope.
    scope: tuple[int, ...] | None = None

    @classmethod
    def system(cls, name: str = "系统") -> Actor:
        return cls(Role.SYSTEM, None, name)


async def actor_for_person(
    conn: asyncpg.Connection, person_id: int, scope: Sequence[int] | None = None
) -> Actor:
    """The :class:`Actor` of a grid person (role and unit from ``grid_people``)."""
    person = await get_person(conn, person_id)
    if person is None or not person.active:
        raise WorkflowError(f"人员 {person_id} 不存在或已停用", "not_found")
    return Actor(
        Role(person.role),
        person.id,
        person.name,
        person.unit_id,
        None if scope is None else tuple(scope),
    )
