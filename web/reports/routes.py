"""Routes of the reports module (plugged in by ``web.routes``: API, PAGES, NAV, ERRORS)."""

from __future__ import annotations

from typing import Final

from aggregates.exports import ExportError
from web.errors import ErrorTable, answer
from web.openapi import Endpoint, Page, Param
from web.pages import NavItem

from . import handlers

#: a file that cannot be produced (missing font, chart of no data …)
ERRORS: Final[ErrorTable] = {ExportError: answer(409, "export_failed")}

_JOB = Param("job", {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "path", description="任务")
_JOB_STATE = {
    "type": "object",
    "required": ["id", "status", "progress"],
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["running", "done", "failed"]},
        "progress": {"type": "number"},
        "message": {"type": "string"},
        "error": {"type": "string"},
        "preview": {"type": "object"},
    },
}

API: Final = (
    Endpoint(
        "POST",
        "/api/v1/reports",
        handlers.start_report,
        "reports:read",
        "生成报表（后台任务，返回任务 id；轮询查看进度）",
        "报表",
        body={
            "type": "object",
            "required": ["scope", "key", "period"],
            "properties": {
                "scope": {"type": "string", "enum": ["station", "region", "grid"]},
                "key": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "description": "站点 MN、区县名称或区域/网格编码",
                },
                "period": {
                    "type": "string",
                    "enum": ["hour", "day", "week", "xun", "month", "year", "custom"],
                },
                "day": {"type": "string", "format": "date"},
                "end": {"type": "string", "format": "date", "description": "自定义结束日（含）"},
                "factors": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 12},
                    "maxItems": 20,
                },
                "audit_log": {"type": "boolean", "description": "附数据审核记录"},
            },
        },
        status=202,
        response=_JOB_STATE,
    ),
    Endpoint(
        "GET",
        "/api/v1/reports/{job}",
        handlers.get_report,
        "reports:read",
        "报表任务进度与预览",
        "报表",
        params=(_JOB,),
        response=_JOB_STATE,
    ),
    Endpoint(
        "GET",
        "/api/v1/reports/{job}/export",
        handlers.export_report,
        "reports:export",
        "导出报表（XLSX/PDF/DOCX/PNG/JPG/CSV）",
        "报表",
        params=(
            _JOB,
            Param(
                "format",
                {"type": "string", "enum": ["xlsx", "csv", "pdf", "docx", "png", "jpg"]},
            ),
            Param("chart", {"type": "string", "enum": ["line", "bar", "pie"]}, description="图片"),
        ),
        content_type="application/octet-stream",
        response={"type": "string", "format": "binary"},
        audit=True,
    ),
)
PAGES: Final = (Page("GET", "/reports", handlers.reports_page, "reports:read", "reports"),)
NAV: Final = (NavItem("/reports", "报表", "reports:read", "report", 50),)
