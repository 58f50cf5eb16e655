"""Enrolment of the caller's TOTP authenticator: the page, its state, a new secret (shown
once, as an ``otpauth://`` QR code and base32 text), and the confirming code.

The secret leaves the server only in the answer to ``POST /api/v1/auth/2fa/enrol`` (no
caching: the API answers are ``no-store``), before it is active; once confirmed it is
never sent again — no page, API answer, export or log carries it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from store.secretbox import TOTP_SECRET, SecretBoxError
from web import context
from web.keys import TOTP_BOX_KEY
from web.pages import shell
from web.params import body_str, json_body
from web.responses import ApiError, json_response

from . import queries
from .totp import matching_step, new_secret, provisioning_uri, qr_svg


def _page_config(request: web.Request) -> dict[str, Any]:
    return {"mustEnrol": context.caller(request).must_enrol_2fa}


page = shell("account_2fa.html", "双因素认证", _page_config)


async def status(request: web.Request) -> web.Response:
    user = context.caller(request)
    async with context.pool(request).acquire() as conn:
        row = await queries.totp_state(conn, user.user_id)
    confirmed = None if row is None else row["confirmed_at"]
    return json_response(
        {
            "enabled": confirmed is not None,
            "confirmed_at": confirmed,
            "required": user.role in context.settings(request).web.require_2fa_for,
        }
    )


async def enrol(request: web.Request) -> web.Response:
    user = context.caller(request)
    secret = new_secret()
    sealed = request.app[TOTP_BOX_KEY].seal(secret, TOTP_SECRET)
    async with context.pool(request).acquire() as conn:
        if not await queries.start_totp(conn, user.user_id, sealed):
            raise ApiError(409, "totp_enabled", "已启用双因素认证；如需更换，请联系管理员重置")
    uri = provisioning_uri(secret, user.username)
    return json_response({"secret": secret, "uri": uri, "qr_svg": qr_svg(uri)})


async def confirm(request: web.Request) -> web.Response:
    body = await json_body(request)
    code = body_str(body, "code", required=True, max_len=16)
    assert code is not None
    user = context.caller(request)
    async with context.pool(request).acquire() as conn:
        row = await queries.totp_state(conn, user.user_id)
        if row is None or row["confirmed_at"] is not None:
            raise ApiError(409, "no_enrolment", "没有待确认的绑定，请先开始绑定")
        try:
            secret = request.app[TOTP_BOX_KEY].open(row["secret_sealed"], TOTP_SECRET)
        except SecretBoxError:  # sealed with a key file since replaced
            raise ApiError(409, "no_enrolment", "绑定已失效，请重新开始绑定") from None
        step = matching_step(secret, code, datetime.now(UTC))
        sealed = row["secret_sealed"]
        if step is None or not await queries.confirm_totp(conn, user.user_id, step, sealed):
            raise ApiError(400, "bad_totp", "验证码不正确，请核对手机时间后重试")
    return json_response({"ok": True})
