"""Routes of the 系统备份 page: administrators only (``system:backup``)."""

from __future__ import annotations

from typing import Any, Final

from web.openapi import INT, NTIME, OBJ, STR, Page
from web.openapi import Endpoint as E
from web.pages import NavItem

from . import handlers

PERMISSION: Final = "system:backup"
_NSTR: Final = {"type": ["string", "null"]}
_NINT: Final = {"type": ["integer", "null"]}
RUN: Final[dict[str, Any]] = {
    "type": ["object", "null"],
    "properties": {
        "id": INT,
        "trigger": {"type": "string", "enum": ["scheduled", "manual"]},
        "requested_by": _NSTR,
        "state": {
            "type": "string",
            "enum": ["requested", "running", "succeeded", "failed", "interrupted"],
        },
        "requested_at": NTIME,
        "started_at": NTIME,
        "finished_at": NTIME,
        "host": _NSTR,
        "step": STR,
        "step_done": INT,
        "step_total": _NINT,
        "file": _NSTR,
        "size": _NINT,
        "seconds": {"type": ["number", "null"]},
        "error": _NSTR,
    },
}
BACKUP_FILE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "file": STR,
        "path": STR,
        "size": INT,
        "created_at": _NSTR,
        "engine": _NSTR,
        "schema_version": _NINT,
        "secret_key": {"type": ["boolean", "null"]},
        "rows": INT,
        "tables": OBJ,
        "error": _NSTR,
        "restore_command": STR,
    },
}
OVERVIEW: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "settings": {
            "type": "object",
            "properties": {
                "schedule": _NSTR,
                "timezone": STR,
                "keep": INT,
                "dir": STR,
                "copy_command": {
                    "type": "boolean",
                    "description": "是否配置了异地复制命令（不含命令内容）",
                },
                "copy_timeout_s": {"type": "number"},
                "checksums": {"type": "boolean"},
            },
        },
        "items": {"type": "array", "items": BACKUP_FILE},
    },
}
STATUS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "current": RUN,
        "last_scheduled": RUN,
        "runs": {"type": "array", "items": RUN},
        "alert": {"type": ["object", "null"]},
    },
}

API: Final[tuple[E, ...]] = (
    E(
        "GET",
        "/api/v1/backups",
        handlers.overview,
        PERMISSION,
        "备份设置与备份文件",
        "系统备份",
        response=OVERVIEW,
        description="生效的 `[backup]` 设置（异地复制命令只报告有无）和 `backup.dir`"
        " 中的备份（同 `envgrid backup list --json`）。备份文件不能通过网页下载。",
    ),
    E(
        "GET",
        "/api/v1/backups/status",
        handlers.status,
        PERMISSION,
        "备份运行状态",
        "系统备份",
        response=STATUS,
        description="正在进行或等待执行的备份（含进度）、最近的运行、上次定时备份的结果、"
        "未解除的“备份失败”告警。",
    ),
    E(
        "POST",
        "/api/v1/backups",
        handlers.start,
        PERMISSION,
        "立即备份",
        "系统备份",
        response=RUN,
        status=202,
        action="立即备份",
        description="请求调度进程立即执行一次备份（与定时备份相同：备份、保留最新 `keep` 个、"
        "异地复制）。已有备份进行或等待时返回 409 `backup_busy`；数据范围受限的账号返回 403。",
    ),
)
PAGES: Final[tuple[Page, ...]] = (
    Page("GET", "/admin/backups", handlers.page, PERMISSION, "admin_backups"),
)
NAV: Final[tuple[NavItem, ...]] = (NavItem("/admin/backups", "备份", PERMISSION, "archive", 94),)
