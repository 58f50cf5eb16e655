"""Permissions ("module:action"), the built-in roles, and who is calling (:class:`Principal`).

Roles live in ``web_roles`` (seeded by migration 0030, extended by 0031) as lists of
permissions; ``*`` grants everything.  A handler states the permission it needs in the route table
(``routes.py``); the auth middleware checks it before the handler runs.  Data scope is
separate: :attr:`Principal.scope` is ``None`` (everything) or the area ids whose subtrees
the user may see, and every scoped query passes it as ``$n::int[]`` to
``envgrid_scope_stations()`` — the scope is enforced in SQL, not only in the UI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

__all__ = ["PERMISSIONS", "ROLES", "Principal"]

#: Every permission, with its label in the UI.
PERMISSIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "map:read": "查看地图",
        "stations:read": "查看站点与数据",
        "stations:write": "站点登记与修改、审批新站点",
        "commands:send": "下发远程命令",
        "maintenance:read": "运维视图",
        "alerts:read": "查看告警",
        "alerts:ack": "处理告警（确认、解除、指派、备注）",
        "alerts:silence": "告警静默与维护窗口",
        "alerts:limits": "设置站点告警限值",
        "alerts:admin": "告警路由与接收人配置",
        "rankings:read": "查看排名",
        "reports:read": "查看报表",
        "reports:export": "导出报表",
        "data:audit": "数据审核（标记无效、恢复、确认预审核）",
        "grid:read": "查看网格",
        "grid:write": "管理网格",
        "cases:read": "查看案件",
        "cases:write": "处理案件",
        "patrol:read": "查看巡查",
        "patrol:write": "巡查上报",
        "users:admin": "用户与角色管理",
        "calendar:admin": "维护工作日历（节假日与调休）",
        "logs:read": "查看操作日志与登录日志",
        "forward:admin": "上级平台转发配置",
        "system:backup": "系统备份（查看备份、立即备份）",
    }
)

#: Built-in roles (name → Chinese title), as seeded by migration 0030.
ROLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "admin": "系统管理员",
        "officer": "环境监管人员",
        "unit": "专业部门",
        "maintainer": "运维人员",
        "grid_member": "网格员",
        "viewer": "只读用户",
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    display_name: str
    role: str
    permissions: frozenset[str]
    #: None: no restriction; otherwise the areas (ids) whose subtrees the user may see.
    scope: tuple[int, ...] | None
    #: "session" (browser cookie, CSRF-checked) or "token" (Authorization: Bearer).
    via: str = "session"
    csrf_token: str = ""
    must_change_password: bool = False
    #: A session of a user whose role requires a second factor (web.require_2fa_for) and
    #: who has not enrolled one: only the enrolment is open to it.
    must_enrol_2fa: bool = False
    scope_labels: tuple[str, ...] = field(default=())

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def can_grant(self, permissions: Iterable[str]) -> bool:
        """Whether the caller holds every one of ``permissions`` (a role's list): one may
        give only what one holds; ``*`` is held only by ``*``."""
        wanted = frozenset(permissions)
        return "*" in self.permissions or ("*" not in wanted and wanted <= self.permissions)

    @property
    def scope_param(self) -> list[int] | None:
        """The ``$n::int[]`` argument of scoped queries (None = unrestricted)."""
        return None if self.scope is None else list(self.scope)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.user_id,
            **{name: getattr(self, name) for name in ("username", "display_name", "role")},
            "role_title": ROLES.get(self.role, self.role),
            "permissions": sorted(self.permissions),
            "scope": None if self.scope is None else list(self.scope),
            "scope_labels": list(self.scope_labels),
            "must_change_password": self.must_change_password,
            "must_enrol_2fa": self.must_enrol_2fa,
        }
