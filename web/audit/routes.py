"""Routes of the data audit (plugged in by ``web.routes``: API, PAGES, NAV, ERRORS)."""

from __future__ import annotations

from typing import Final

from aggregates.audit import AuditError, StationNotFound
from web.errors import ErrorTable, answer
from web.openapi import INT, OBJ, Endpoint, Page, Param
from web.pages import NavItem, shell

from . import handlers

ERRORS: Final[ErrorTable] = {
    StationNotFound: answer(404, "not_found"),
    AuditError: answer(400, "audit_refused"),
}
_TIME = {"type": "string", "format": "date-time"}
_IDS = {
    "type": "object",
    "required": ["ids"],
    "properties": {"ids": {"type": "array", "items": INT, "minItems": 1, "maxItems": 5000}},
}
_STATION = Param("station", {"type": "integer", "minimum": 1, "maximum": 2147483647})
_LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 5000})

API: Final = (
    Endpoint(
        "GET",
        "/api/v1/stations/{id}/audit/hours",
        handlers.station_hours,
        "stations:read",
        "站点小时数据的审核状态（原始与审核后对照）",
        "数据审核",
        params=(
            Param("from", _TIME),
            Param("to", _TIME),
            Param("factor", {"type": "string", "description": "因子编码，逗号分隔"}),
        ),
        response=OBJ,
    ),
    Endpoint(
        "POST",
        "/api/v1/stations/{id}/audit",
        handlers.station_action,
        "data:audit",
        "标记无效或恢复（整点小时，含首尾小时）",
        "数据审核",
        body={
            "type": "object",
            "required": ["action", "from", "to"],
            "properties": {
                "action": {"type": "string", "enum": ["invalidate", "restore"]},
                "from": _TIME,
                "to": {**_TIME, "description": "最后一个小时（含）"},
                "factors": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 12},
                    "description": "因子编码；空或省略 = 该站全部因子",
                },
                "reason": {"type": "string", "maxLength": 200, "description": "标记无效时必填"},
                "note": {"type": "string", "maxLength": 2000},
            },
        },
        response=OBJ,
    ),
    Endpoint(
        "GET",
        "/api/v1/audit/log",
        handlers.audit_log,
        "data:audit",
        "数据审核记录（只增不改）",
        "数据审核",
        params=(_STATION, Param("from", _TIME), Param("to", _TIME), _LIMIT),
        response=OBJ,
    ),
    Endpoint(
        "GET",
        "/api/v1/audit/proposals",
        handlers.list_proposals,
        "data:audit",
        "预审核发现的问题数据",
        "数据审核",
        params=(
            Param("status", {"type": "string", "enum": ["open", "confirmed", "dismissed"]}),
            _STATION,
            _LIMIT,
        ),
        response=OBJ,
    ),
    Endpoint(
        "POST",
        "/api/v1/audit/proposals/confirm",
        handlers.confirm_proposals,
        "data:audit",
        "批量确认预审核（标记无效）",
        "数据审核",
        body=_IDS,
        response=OBJ,
    ),
    Endpoint(
        "POST",
        "/api/v1/audit/proposals/dismiss",
        handlers.dismiss_proposals,
        "data:audit",
        "批量忽略预审核",
        "数据审核",
        body=_IDS,
        response=OBJ,
    ),
)
PAGES: Final = (Page("GET", "/audit", shell("audit.html", "数据审核"), "data:audit", "audit"),)
NAV: Final = (NavItem("/audit", "数据审核", "data:audit", "audit", 55),)
