"""Routes of the forwarding admin: the API, the page /admin/forward and its navigation."""

from __future__ import annotations

from typing import Final

from web.openapi import INT, OBJ, STR, Page
from web.openapi import Endpoint as E
from web.pages import NavItem, shell

from . import handlers

TARGET_BODY: Final = {
    "type": "object",
    "required": ["name", "host", "port"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
        "host": {"type": "string", "minLength": 1, "maxLength": 253},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "password": {"type": "string", "maxLength": 64},
        "edition": {"type": "string", "enum": ["2017", "2025"]},
        "sm4_key": {"type": "string", "maxLength": 32},
        "cns": {"type": "array", "items": INT},
        "stations": STR,
        "mn_map": STR,
        "alert_after": {"type": "integer", "minimum": 1},
        "since": {"type": "string", "maxLength": 40},
    },
}

API: Final = (
    E(
        "GET",
        "/api/v1/forward/targets",
        handlers.status,
        "forward:admin",
        "上级平台转发目标及状态（连接、积压、最早未发、最近确认、错误）",
        "转发",
        response={"type": "array", "items": OBJ},
    ),
    E(
        "POST",
        "/api/v1/forward/targets",
        handlers.add,
        "forward:admin",
        "新增转发目标",
        "转发",
        status=201,
        body=TARGET_BODY,
        response=OBJ,
    ),
    E(
        "DELETE",
        "/api/v1/forward/targets/{name}",
        handlers.remove,
        "forward:admin",
        "删除转发目标及其积压",
        "转发",
        response=OBJ,
    ),
)
PAGES: Final[tuple[Page, ...]] = (
    Page(
        "GET",
        "/admin/forward",
        shell("admin_forward.html", "上级平台转发"),
        "forward:admin",
        "admin_forward",
    ),
)
NAV: Final[tuple[NavItem, ...]] = (
    NavItem("/admin/forward", "上级平台转发", "forward:admin", "station", 82),
)
