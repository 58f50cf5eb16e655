"""Small accessors every handler uses: the caller, the pool, settings, today's date."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from web.keys import AUDIT, POOL_KEY, PRINCIPAL, SETTINGS_KEY
from web.permissions import Principal
from web.responses import ApiError
from web.settings import WebConfig

__all__ = ["audit", "caller", "pool", "settings", "today"]


def caller(request: web.Request) -> Principal:
    """The authenticated principal (the middleware has already refused anonymous calls)."""
    principal = request.get(PRINCIPAL)
    if principal is None:
        raise ApiError(401, "unauthorized", "请先登录")
    assert isinstance(principal, Principal)
    return principal


def maybe_caller(request: web.Request) -> Principal | None:
    principal = request.get(PRINCIPAL)
    return principal if isinstance(principal, Principal) else None


def pool(request: web.Request) -> asyncpg.Pool:
    return request.app[POOL_KEY]


def settings(request: web.Request) -> WebConfig:
    return request.app[SETTINGS_KEY]


def today(request: web.Request) -> date:
    return datetime.now(ZoneInfo(settings(request).core.timezone)).date()


def audit(request: web.Request, **detail: object) -> None:
    """Details for the operation-log entry of this request (written by the middleware)."""
    request[AUDIT] = {**request.get(AUDIT, {}), **detail}
