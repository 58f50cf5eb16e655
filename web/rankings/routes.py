"""Routes of the rankings module (plugged in by ``web.routes``: API, PAGES, NAV, ERRORS)."""

from __future__ import annotations

from typing import Final

from aggregates.selection import QueryError
from web.errors import ErrorTable, answer
from web.openapi import Endpoint, Page, Param
from web.pages import NavItem

from . import handlers
from .service import RankingError

#: refusals of the ranking's period and query: 400 with their message
ERRORS: Final[ErrorTable] = {
    RankingError: answer(400, "bad_parameter"),
    QueryError: answer(400, "bad_parameter"),
}

_DATE = {"type": "string", "format": "date"}
_PARAMS: Final = (
    Param("by", {"type": "string", "maxLength": 12}, description="aqi、aqci 或因子编码"),
    Param("scope", {"type": "string", "enum": ["station", "region", "grid"]}),
    Param("period", {"type": "string", "enum": ["day", "7d", "3m", "custom"]}),
    Param("day", _DATE, description="日期（日；近7天/近3个月的最后一天，默认昨天）"),
    Param("from", _DATE, description="自定义开始日期"),
    Param("to", _DATE, description="自定义结束日期（含）"),
)
_ROW = {
    "type": "object",
    "required": ["rank", "key", "name", "value", "valid"],
    "properties": {
        "rank": {"type": ["integer", "null"]},
        "key": {"type": "string"},
        "name": {"type": "string"},
        "value": {"type": ["number", "null"]},
        "valid": {"type": "boolean"},
        "detail": {"type": "object"},
        "series": {"type": "array", "items": {"type": ["number", "null"]}},
    },
}

API: Final = (
    Endpoint(
        "GET",
        "/api/v1/rankings",
        handlers.get_ranking,
        "rankings:read",
        "排名（AQI、综合指数或单因子；站点/区域/网格；日、近7天、近3个月、自定义）",
        "排名",
        params=_PARAMS,
        response={
            "type": "object",
            "required": ["by", "scope", "period", "rows", "columns"],
            "properties": {
                "by": {"type": "string"},
                "scope": {"type": "string"},
                "period": {"type": "string"},
                "columns": {"type": "array"},
                "rows": {"type": "array", "items": _ROW},
                "unverified": {"type": "array"},
                "scope_empty": {"type": "boolean", "description": "数据范围内没有站点"},
                "refresh": {
                    "type": "object",
                    "description": "日均值（排名的数据）的更新周期与下次更新时间（本地时间）",
                    "properties": {
                        "every_min": {"type": "integer"},
                        "next": {"type": "string", "format": "date-time"},
                        "next_label": {"type": "string"},
                    },
                },
            },
        },
    ),
    Endpoint(
        "GET",
        "/api/v1/rankings/export",
        handlers.export_ranking_file,
        "reports:export",
        "导出排名（XLSX/CSV）",
        "排名",
        params=(*_PARAMS, Param("format", {"type": "string", "enum": ["xlsx", "csv"]})),
        content_type="application/octet-stream",
        response={"type": "string", "format": "binary"},
        audit=True,
    ),
)
PAGES: Final = (Page("GET", "/rankings", handlers.rankings_page, "rankings:read", "rankings"),)
NAV: Final = (NavItem("/rankings", "排名", "rankings:read", "rank", 40),)
