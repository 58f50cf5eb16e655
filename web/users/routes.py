"""Routes of the users module: accounts, roles, login and operation logs."""

from __future__ import annotations

from typing import Final

from web.errors import ErrorTable
from web.openapi import (
    INT,
    NTIME,
    OBJ,
    PAGING,
    STR,
    WINDOW,
    Param,
    Q,
    obj,
    page_of,
    text,
)
from web.openapi import (
    Endpoint as E,
)
from web.responses import ApiError

from . import handlers
from .service import UserError

USER_ITEM: Final = {
    "type": "object",
    "required": ["id", "username", "role", "enabled", "scope"],
    "properties": {
        "id": INT,
        "username": STR,
        "display_name": STR,
        "role": STR,
        "enabled": {"type": "boolean"},
        "scope": {"type": "array", "items": INT},
        "locked_until": NTIME,
        "receivers": {"type": "array", "items": OBJ, "description": "关联的告警接收人"},
    },
}
USER_BODY: Final = {
    "type": "object",
    "properties": {
        "display_name": {"type": "string", "maxLength": 64},
        "phone": {"type": "string", "maxLength": 32},
        "role": {"type": "string", "maxLength": 40},
        "enabled": {"type": "boolean"},
        "unlock": {"type": "boolean"},
        "must_change_password": {"type": "boolean"},
        "scope": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "receiver_ids": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "description": "关联的告警接收人（通知发往这些接收人）",
        },
    },
}


def _user_error(exc: UserError) -> ApiError:
    return ApiError(409 if exc.code == "user_exists" else 400, exc.code, str(exc))


ERRORS: Final[ErrorTable] = {UserError: _user_error}

_USERNAME: Final = Param("username", text(64))

API: Final[tuple[E, ...]] = (
    E(
        "GET",
        "/api/v1/users",
        handlers.list_users,
        "users:admin",
        "用户列表",
        "用户",
        params=(Q, Param("role", {"type": "string", "maxLength": 40}), *PAGING),
        response=page_of(USER_ITEM),
    ),
    E(
        "POST",
        "/api/v1/users",
        handlers.add_user,
        "users:admin",
        "新增用户",
        "用户",
        status=201,
        body={
            **USER_BODY,
            "required": ["username", "password", "role"],
            "properties": {
                **USER_BODY["properties"],  # type: ignore[dict-item]
                "username": {"type": "string", "maxLength": 64},
                "password": {"type": "string", "maxLength": 128},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/users/{id}",
        handlers.get_user,
        "users:admin",
        "用户详情",
        "用户",
        response=USER_ITEM,
    ),
    E(
        "PATCH",
        "/api/v1/users/{id}",
        handlers.update_user,
        "users:admin",
        "修改用户（角色、范围、停用、解锁）",
        "用户",
        body=USER_BODY,
    ),
    E(
        "POST",
        "/api/v1/users/{id}/password",
        handlers.reset_user_password,
        "users:admin",
        "重置用户密码",
        "用户",
        body=obj({"password": text(128)}, "password"),
    ),
    E("GET", "/api/v1/roles", handlers.list_roles, "users:admin", "角色与权限", "用户"),
    E(
        "GET",
        "/api/v1/logs/logins",
        handlers.login_log,
        "logs:read",
        "登录日志",
        "日志",
        params=(_USERNAME, Param("success", {"type": "boolean"}), *WINDOW, *PAGING),
        response=page_of(OBJ),
    ),
    E(
        "GET",
        "/api/v1/logs/operations",
        handlers.operation_log,
        "logs:read",
        "操作日志",
        "日志",
        params=(_USERNAME, *WINDOW, *PAGING),
        response=page_of(OBJ),
    ),
)
