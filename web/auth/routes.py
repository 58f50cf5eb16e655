"""Routes of the auth module: log-in, log-out, the caller, passwords, API tokens."""

from __future__ import annotations

from typing import Final

from web.openapi import OBJ, OK, STR, Page, obj, text
from web.openapi import Endpoint as E

from . import handlers

API: Final[tuple[E, ...]] = (
    E(
        "POST",
        "/api/v1/auth/login",
        handlers.api_login,
        "public",
        "登录（会话 Cookie）",
        "认证",
        body=obj({"username": text(64), "password": text(128)}, "username", "password"),
        response={"type": "object", "properties": {"csrf_token": STR}},
    ),
    E("POST", "/api/v1/auth/logout", handlers.api_logout, "user", "退出登录", "认证", response=OK),
    E("GET", "/api/v1/auth/me", handlers.api_me, "user", "当前用户", "认证"),
    E(
        "POST",
        "/api/v1/auth/password",
        handlers.api_change_password,
        "user",
        "修改本人密码",
        "认证",
        body=obj(
            {"current_password": text(128), "new_password": text(128)},
            "current_password",
            "new_password",
        ),
        response=OK,
        audit=True,
    ),
    E(
        "GET",
        "/api/v1/auth/tokens",
        handlers.list_tokens,
        "user",
        "本人 API 令牌",
        "认证",
        response={"type": "array", "items": OBJ},
    ),
    E(
        "POST",
        "/api/v1/auth/tokens",
        handlers.create_token,
        "user",
        "创建 API 令牌",
        "认证",
        body={
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": text(64, 1),
                "expires_days": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 3650,
                    "description": "有效天数，默认 web.token_expiry_days（90）",
                },
            },
        },
        response={"type": "object", "properties": {"token": STR}},
        status=201,
    ),
    E("DELETE", "/api/v1/auth/tokens/{id}", handlers.revoke_token, "user", "吊销 API 令牌", "认证"),
)
PAGES: Final[tuple[Page, ...]] = (
    Page("GET", "/login", handlers.login_page, "public", "login"),
    Page("POST", "/login", handlers.login_submit, "public", "login_submit"),
    Page("POST", "/logout", handlers.logout_submit, "public", "logout"),
)
