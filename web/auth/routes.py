"""Routes of the auth module: log-in (password, then the TOTP code), log-out, the caller,
passwords, the second factor's enrolment, API tokens."""

from __future__ import annotations

from typing import Final

from web.openapi import NTIME, OBJ, OK, STR, Page, obj, text
from web.openapi import Endpoint as E

from . import enrolment, handlers

API: Final[tuple[E, ...]] = (
    E(
        "POST",
        "/api/v1/auth/login",
        handlers.api_login,
        "public",
        "登录（会话 Cookie）",
        "认证",
        body=obj(
            {
                "username": text(64),
                "password": text(128),
                "totp": {
                    **text(16),
                    "description": "动态验证码（已绑定身份验证器者必填，否则 401 totp_required）",
                },
            },
            "username",
            "password",
        ),
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
        "/api/v1/auth/2fa",
        enrolment.status,
        "user",
        "本人双因素认证状态",
        "认证",
        response={
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "confirmed_at": NTIME,
                "required": {"type": "boolean"},
            },
        },
    ),
    E(
        "POST",
        "/api/v1/auth/2fa/enrol",
        enrolment.enrol,
        "user",
        "开始绑定身份验证器（密钥只返回这一次）",
        "认证",
        response={
            "type": "object",
            "properties": {"secret": STR, "uri": STR, "qr_svg": STR},
        },
    ),
    E(
        "POST",
        "/api/v1/auth/2fa/confirm",
        enrolment.confirm,
        "user",
        "以验证码确认绑定",
        "认证",
        body=obj({"code": text(16)}, "code"),
        response=OK,
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
        description=(
            "为本人创建 API 令牌（`eg_` 开头，只在此响应中出现一次）；之后以 "
            "`Authorization: Bearer eg_…` 调用，权限与数据范围同本人。\n\n示例（会话登录后）：\n\n"
            "```\ncurl -b jar.txt -H 'X-CSRF-Token: …' -H 'Content-Type: application/json' \\\n"
            "     -d '{\"name\": \"grafana\", \"expires_days\": 365}' \\\n"
            "     https://HOST/api/v1/auth/tokens\n```"
        ),
    ),
    E("DELETE", "/api/v1/auth/tokens/{id}", handlers.revoke_token, "user", "吊销 API 令牌", "认证"),
)
PAGES: Final[tuple[Page, ...]] = (
    Page("GET", "/login", handlers.login_page, "public", "login"),
    Page("POST", "/login", handlers.login_submit, "public", "login_submit"),
    Page("POST", "/login/totp", handlers.login_totp_submit, "public", "login_totp"),
    Page("GET", "/account/2fa", enrolment.page, "user", "account_2fa"),
    Page("POST", "/logout", handlers.logout_submit, "public", "logout"),
)
