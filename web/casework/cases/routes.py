"""Routes of the case module (plugged into ``web.routes``): API, pages, navigation and
the alert → case bridge listener (the scheduled jobs are in :mod:`web.casework.jobs`).

Permissions: ``cases:read`` (board, case pages, assessment), ``cases:write`` (report,
act on cases — what exactly is decided by the workflow table from the caller's grid
role), ``reports:export`` (assessment exports); photo uploads and attachments need a
login and are checked per object; the complaint form and its endpoint are public
(rate-limited per client address).
"""

from __future__ import annotations

from typing import Any, Final

from web.casework.cases import calendar_web as cw
from web.casework.cases import handlers as h
from web.casework.cases import history_handlers as hh
from web.casework.cases import pages
from web.casework.cases.bridge import alert_listener_context
from web.casework.cases.intake import SOURCES
from web.casework.cases.workflow import Action, State
from web.casework.kernel.access import ERRORS as CASEWORK_ERRORS
from web.openapi import Endpoint, Page, Param, obj, page_of, text
from web.pages import NavItem

__all__ = ["API", "CONTEXTS", "ERRORS", "NAV", "PAGES"]

_INT: Final = {"type": "integer"}
_STR: Final = {"type": "string"}
_ID: Final = {"type": "integer", "minimum": 1, "maximum": 2147483647}
_NSTR: Final = {"type": ["string", "null"]}
_TIME: Final = {"type": ["string", "null"], "format": "date-time"}
_PHOTOS: Final = {
    "type": "array",
    "maxItems": 20,
    "items": text(64, 1),
    "description": "POST /api/v1/uploads 返回的照片令牌",
}

CASE_ITEM: Final = obj(
    {
        "id": _INT,
        "code": _STR,
        "title": _STR,
        "category": _STR,
        "category_name": _NSTR,
        "source": _STR,
        "state": _STR,
        "state_label": _STR,
        "urgent": {"type": "boolean"},
        "grid_id": {"type": ["integer", "null"]},
        "grid_name": _NSTR,
        "unit_id": {"type": ["integer", "null"]},
        "unit_name": _NSTR,
        "stage": _NSTR,
        "deadline": _TIME,
        "handle_deadline": _TIME,
        "supervised": {"type": "boolean"},
        "overdue": {"type": "boolean"},
        "rework_count": _INT,
        "reported_at": {"type": "string", "format": "date-time"},
        "priority": {
            "type": "integer",
            "minimum": 1,
            "maximum": 3,
            "description": "1 一般 / 2 较重 / 3 严重（告警案件：其告警的最高级别）",
        },
        "recovered_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "告警案件的告警全部恢复的时间（已恢复）",
        },
    },
    "id",
    "code",
    "title",
    "state",
    "state_label",
)
_BOARD_PARAMS: Final = (
    Param("state", text(400), description="状态，逗号分隔"),
    Param("open", {"type": "boolean"}, description="true 未结案（默认）/ false 已结束"),
    Param("unit", _ID, description="责任单位 id"),
    Param("category", text(40), description="案件类别编码"),
    Param("source", {"type": "string", "enum": list(SOURCES)}, description="来源"),
    Param("grid", _ID, description="网格 id"),
    Param("supervised", {"type": "boolean"}, description="仅督办"),
    Param("overdue", {"type": "boolean"}, description="仅超期"),
    Param("q", text(100), description="编号或标题关键字"),
)
_PAGING: Final = (
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 200}, description="每页条数"),
    Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
)
_PERIOD: Final = (
    Param("group", {"type": "string", "enum": ["unit", "grid", "person", "area", "all"]}),
    Param("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, description="年月"),
    Param("from", {"type": "string", "format": "date"}, description="开始日期（含）"),
    Param("to", {"type": "string", "format": "date"}, description="结束日期（含）"),
    Param("level", {"type": "integer", "minimum": 1, "maximum": 5}, description="按区域汇总的层级"),
)
ASSESS_ROW: Final = obj(
    {
        "key": {"type": ["integer", "null"]},
        "name": _STR,
        "due": _INT,
        "hung": _INT,
        "closed": _INT,
        "on_time": _INT,
        "overdue": _INT,
        "rework": _INT,
        "auto_recovered": _INT,
        "on_time_rate": {"type": ["number", "null"]},
        "closure_rate": {"type": ["number", "null"]},
        "rework_rate": {"type": ["number", "null"]},
        "card": {"type": ["string", "null"], "enum": ["red", "yellow", None]},
    }
)

E = Endpoint
#: The casework refusals → HTTP answers (see web.errors).
ERRORS: Final = CASEWORK_ERRORS

API: Final[tuple[Endpoint, ...]] = (
    E(
        "GET", "/api/v1/cases", h.list_cases, "cases:read", "案件列表（按时限排序，数据范围内）",
        "案件", params=(*_BOARD_PARAMS, *_PAGING), response=page_of(CASE_ITEM),
        description=(
            "数据范围内的案件，按处置时限排序。\n\n示例：\n\n"
            "```\ncurl -H 'Authorization: Bearer eg_…' \\\n     'https://HOST/api/v1/cases?limit=20'\n```"
        ),
    ),
    E(
        "GET", "/api/v1/cases/board", h.case_board_columns, "cases:read",
        "案件看板：按环节分列，各列按时限排序，含各状态计数", "案件",
        params=(
            *_BOARD_PARAMS,
            Param("per_column", {"type": "integer", "minimum": 1, "maximum": 100}),
        ),
        response=obj({
            "columns": {"type": "array", "items": {"type": "object"}},
            "counts": {"type": "object"},
        }, "columns", "counts"),
    ),
    E(
        "GET", "/api/v1/cases/mine", h.my_cases, "cases:read",
        "我的案件（当前角色可处理的案件）", "案件", params=(*_BOARD_PARAMS, *_PAGING),
        response=page_of(CASE_ITEM),
    ),
    E(
        "GET", "/api/v1/cases/done", hh.my_done_cases, "cases:read",
        "已办案件（我办理过的：我做过操作或备注的案件，按我最近一次操作倒序）", "案件",
        params=(
            Param("from", {"type": "string", "format": "date"}, description="操作日期起（含）"),
            Param("to", {"type": "string", "format": "date"}, description="操作日期止（含）"),
            Param("action", {"type": "string", "enum": [a.value for a in Action]},
                  description="我做过的操作"),
            Param("state", {"type": "string", "enum": [s.value for s in State]},
                  description="案件当前状态"),
            Param("open", {"type": "boolean"}, description="true 未结案 / false 已结束"),
            Param("category", text(40), description="案件类别编码"),
            Param("source", {"type": "string", "enum": list(SOURCES)}, description="来源"),
            Param("q", text(100), description="编号或标题关键字"),
            *_PAGING,
        ),
        response=page_of(CASE_ITEM),
    ),
    E(
        "GET", "/api/v1/cases/categories", h.list_categories, "cases:read", "案件类别", "案件",
        response={"type": "array", "items": {"type": "object"}},
    ),
    E(
        "POST", "/api/v1/cases", h.create_case, "cases:write", "上报案件（人工录入）", "案件",
        body=obj({
            "title": text(200, 1),
            "category": text(40),
            "description": text(5000),
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "address": text(200),
            "grid_id": _ID,
            "urgent": {"type": "boolean"},
            "photos": _PHOTOS,
        }, "title", "category"),
        status=201,
        response=obj({"id": _INT, "code": _STR, "state": _STR}),
        description=(
            "人工上报一个案件；`category` 取自 `GET /api/v1/cases/categories`。\n\n示例：\n\n"
            "```\ncurl -H 'Authorization: Bearer eg_…' -H 'Content-Type: application/json' \\\n"
            "     -d '{\"title\": \"河道排污\", \"category\": \"…\", "
            "\"lat\": 30.27, \"lon\": 120.15}' \\\n"
            "     https://HOST/api/v1/cases\n```"
        ),
    ),
    E(
        "GET", "/api/v1/cases/{id}", h.get_case, "cases:read",
        "案件详情：流转记录、照片、当前可执行的操作", "案件",
    ),
    E(
        "POST", "/api/v1/cases/{id}/actions", h.case_action, "cases:write",
        "案件操作（受理、立案、派遣、签收、回退、反馈、延期、挂账、核查、结案、督办、备注…）",
        "案件",
        body=obj({
            "action": {"type": "string", "enum": [a.value for a in Action]},
            "comment": text(2000),
            "unit_id": _ID,
            "extension_minutes": {"type": "integer", "minimum": 1, "maximum": 27000},
            "photos": _PHOTOS,
            "version": {"type": "integer", "minimum": 0, "maximum": 2147483647},
        }, "action"),
        response=obj({
            "state": {"type": "string", "enum": [s.value for s in State]},
            "applied": {"type": "array"},
            "version": _INT,
        }),
        audit=True,
    ),
    E(
        "POST", "/api/v1/cases/{id}/grid", h.case_grid, "cases:write",
        "调整案件所属网格", "案件",
        body=obj({"grid_id": _ID, "reason": text(500)}, "grid_id", "reason"),
    ),
    E(
        "GET", "/api/v1/cases/{id}/notices", h.case_notices, "cases:read",
        "案件的通知（派遣、提醒、到期、督办）及发送状态", "案件",
        response={"type": "array", "items": {"type": "object"}},
    ),
    E(
        "GET", "/api/v1/assessment", h.get_assessment, "cases:read",
        "案件考核：按期结案率、结案率、返工率、超期数（按单位/网格/人员/区域）", "考核",
        params=_PERIOD,
        response=obj({
            "rows": {"type": "array", "items": ASSESS_ROW},
            "total": {"oneOf": [ASSESS_ROW, {"type": "null"}]},
            "period": {"type": "object"},
        }, "rows", "period"),
    ),
    E(
        "GET", "/api/v1/assessment/export", h.export_assessment, "reports:export",
        "导出案件考核（XLSX/CSV/PDF/DOCX）", "考核",
        params=(
            *_PERIOD,
            Param("format", {"type": "string", "enum": list(h.EXPORT_TYPES)}),
        ),
        content_type="application/octet-stream",
        response={"type": "string", "format": "binary"},
        audit=True,
    ),
    E(
        "POST", "/api/v1/uploads", h.upload_photos, "user",
        "上传照片（multipart/form-data，字段 photo，可多张；需处理案件或巡查上报权限；"
        "返回令牌供操作引用）", "附件",
        status=201,
        response=obj({"items": {"type": "array"}}),
    ),
    E(
        "GET", "/api/v1/attachments/{id}", h.get_attachment, "user",
        "查看照片（按所属案件/巡查的数据范围校验）", "附件",
        content_type="image/jpeg", response={"type": "string", "format": "binary"},
    ),
    E(
        "POST", "/api/v1/public/complaints", h.submit_public_complaint, "public",
        "群众投诉（无需登录，multipart/form-data：description、category、lat、lon、title、"
        "address、contact_name、contact_phone、photo；按来源地址限流）", "投诉",
        status=201,
        response=obj({"code": _STR, "grid_name": _STR}),
    ),
    E(
        "POST", "/api/v1/public/complaints/status", hh.complaint_status, "public",
        "投诉进度查询（无需登录）：受理编号 + 提交时留的联系电话（完整号码或后 4 位）；"
        "只返回办理阶段、日期和答复；编号或电话不符时与编号不存在的回答相同；按来源地址限流",
        "投诉",
        body=obj({"code": text(40, 1), "phone": text(20, 1)}, "code", "phone"),
        response=obj({
            "code": _STR, "status": _STR, "finished": {"type": "boolean"},
            "steps": {"type": "array"}, "replies": {"type": "array"},
        }, "code", "status"),
    ),
    E(
        "GET", "/api/v1/work-calendar", cw.get_calendar, "cases:read",
        "工作日历：某年的法定节假日与调休上班日、覆盖年份、下一年未覆盖的提醒", "工作日历",
        params=(Param("year", {"type": "integer", "minimum": 2000, "maximum": 2100}),),
    ),
    E(
        "PUT", "/api/v1/work-calendar/day", cw.put_calendar_day, "calendar:admin",
        "设置某一天为工作日或休息日（人工设置，更新节假日库时保留；auto 恢复法定安排）",
        "工作日历",
        body=obj({"day": {"type": "string", "format": "date"},
                  "kind": {"type": "string", "enum": ["workday", "holiday", "auto"]},
                  "name": text(40)}, "day", "kind"),
        audit=True,
    ),
    E(
        "POST", "/api/v1/work-calendar/update", cw.update_calendar, "calendar:admin",
        "从节假日库更新工作日历（保留人工设置）", "工作日历", audit=True,
    ),
    E(
        "GET", "/api/v1/public/complaint-categories", h.complaint_categories, "public",
        "投诉类别", "投诉", response={"type": "array", "items": {"type": "object"}},
    ),
)  # fmt: skip

P = Page
PAGES: Final[tuple[Page, ...]] = (
    P("GET", "/cases", pages.board_page, "cases:read", "cases_board"),
    P("GET", "/cases/mine", pages.mine_page, "cases:read", "cases_mine"),
    P("GET", "/cases/done", pages.done_page, "cases:read", "cases_done"),
    P("GET", "/cases/new", pages.new_page, "cases:write", "cases_new"),
    P("GET", r"/cases/{id:\d+}", pages.detail_page, "cases:read", "case_detail"),
    P("GET", "/assessment", pages.assessment_page, "cases:read", "assessment"),
    P("GET", "/complaint", pages.complaint_page, "public", "complaint"),
    P("GET", "/complaint/status", pages.complaint_status_page, "public", "complaint_status"),
    P("GET", "/work-calendar", cw.calendar_page, "cases:read", "work_calendar"),
)

NAV: Final[tuple[NavItem, ...]] = (
    NavItem("/cases", "案件", "cases:read", "case"),
    NavItem("/assessment", "考核", "cases:read", "chart"),
    NavItem("/work-calendar", "工作日历", "cases:read", "calendar"),
)

CONTEXTS: Final[tuple[Any, ...]] = (cw.calendar_fill_context, alert_listener_context)
