"""Routes of the HJ 212-2025 views: the station's 2025 records, loggers waiting for an MN
(API, the page /admin/loggers and its navigation entry)."""

from __future__ import annotations

from typing import Final

from web.openapi import INT, OBJ, PAGING, STR, WINDOW, Page, Param, page_of
from web.openapi import Endpoint as E
from web.pages import NavItem, shell

from . import handlers

RECORD: Final = {
    "type": "object",
    "required": ["cn", "code", "ts", "value", "fields"],
    "properties": {
        "cn": INT,
        "code": STR,
        "name_zh": STR,
        "name_en": STR,
        "ts": STR,
        "value": {"type": ["number", "null"]},
        "fields": OBJ,
        "received_at": STR,
        "backfill": {"type": ["boolean", "null"]},
    },
}

API: Final = (
    E(
        "GET",
        "/api/v1/stations/{id}/records",
        handlers.station_records,
        "stations:read",
        "HJ 212-2025 记录（原始数据、噪声单次测量、标样核查、炉膛温度）",
        "站点",
        params=(
            Param("cn", {"type": "integer", "enum": list(handlers.RECORD_CNS)}),
            Param("code", {"type": "string", "maxLength": 12}),
            *WINDOW,
            *PAGING,
        ),
        response={
            **page_of(RECORD),
            "properties": {
                **page_of(RECORD)["properties"],
                "edition": {"type": ["string", "null"]},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/pending-loggers",
        handlers.list_loggers,
        "stations:write",
        "待分配 MN 的数采仪（HJ 212-2025 CN 1001）",
        "站点",
        params=(Param("all", {"type": "string", "enum": ["0", "1", "true", "false"]}),),
        response={"type": "array", "items": OBJ},
    ),
    E(
        "POST",
        "/api/v1/pending-loggers/{logger_id}/assign",
        handlers.assign_logger,
        "stations:write",
        "为数采仪分配 MN（下发 CN 1002）",
        "站点",
        status=201,
        response=OBJ,
        body={
            "type": "object",
            "required": ["mn"],
            "properties": {
                "mn": {"type": "string", "pattern": "^[0-9A-F]{24}$"},
                "name": {"type": "string", "maxLength": 100},
                "password": {"type": "string", "maxLength": 64},
                "st": {"type": "string", "pattern": "^[0-9]{2}$"},
                "sm4_key": {"type": "string", "maxLength": 32},
                "region": {"type": "string", "maxLength": 64},
                "grid_id": {"type": "integer", "minimum": 1},
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
            },
        },
    ),
    E(
        "POST",
        "/api/v1/pending-loggers/{logger_id}/reject",
        handlers.reject_logger,
        "stations:write",
        "拒绝待分配的数采仪",
        "站点",
        response=OBJ,
    ),
)

PAGES: Final[tuple[Page, ...]] = (
    Page(
        "GET",
        "/admin/loggers",
        shell("admin_loggers.html", "数采仪 MN 分配"),
        "stations:write",
        "admin_loggers",
    ),
)
NAV: Final[tuple[NavItem, ...]] = (
    NavItem("/admin/loggers", "数采仪分配", "stations:write", "station", 81),
)
