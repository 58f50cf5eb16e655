"""Routes of the security page (安全 / 会话与令牌): administrators only (``users:admin``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from web.openapi import INT, NTIME, STR, TIME, Page
from web.openapi import Endpoint as E
from web.pages import NavItem

from . import handlers

_USER: Final[dict[str, Any]] = {"user_id": INT, "username": STR, "display_name": STR}
SESSION_ITEM: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "id": INT,
        **_USER,
        "created_at": TIME,
        "last_seen_at": TIME,
        "expires_at": TIME,
        "ip": {"type": ["string", "null"]},
        "user_agent": {"type": ["string", "null"]},
        "current": {"type": "boolean", "description": "调用者本人的这个会话"},
    },
}
TOKEN_ITEM: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "id": INT,
        "name": STR,
        **_USER,
        "created_at": TIME,
        "last_used_at": NTIME,
        "expires_at": NTIME,
    },
}
SECOND_FACTOR_ITEM: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        **_USER,
        "role": STR,
        "confirmed_at": NTIME,
        "required": {"type": "boolean"},
    },
}


def _items(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"items": {"type": "array", "items": item}}}


API: Final[tuple[E, ...]] = (
    E(
        "GET",
        "/api/v1/security/sessions",
        handlers.list_sessions,
        "users:admin",
        "活动会话",
        "安全",
        response=_items(SESSION_ITEM),
    ),
    E(
        "POST",
        "/api/v1/security/sessions/{id}/end",
        handlers.end_session,
        "users:admin",
        "结束会话",
        "安全",
    ),
    E(
        "GET",
        "/api/v1/security/tokens",
        handlers.list_tokens,
        "users:admin",
        "有效的 API 令牌（全部用户）",
        "安全",
        response=_items(TOKEN_ITEM),
    ),
    E(
        "POST",
        "/api/v1/security/tokens/{id}/revoke",
        handlers.revoke_token,
        "users:admin",
        "吊销 API 令牌（管理员）",
        "安全",
    ),
    E(
        "GET",
        "/api/v1/security/2fa",
        handlers.list_second_factors,
        "users:admin",
        "双因素认证（已绑定或角色要求）",
        "安全",
        response=_items(SECOND_FACTOR_ITEM),
    ),
    E(
        "POST",
        "/api/v1/security/users/{id}/2fa/reset",
        handlers.reset_second_factor,
        "users:admin",
        "重置用户的双因素认证",
        "安全",
    ),
)
PAGES: Final[tuple[Page, ...]] = (
    Page("GET", "/admin/security", handlers.page, "users:admin", "admin_security"),
)
NAV: Final[tuple[NavItem, ...]] = (NavItem("/admin/security", "安全", "users:admin", "lock", 92),)
