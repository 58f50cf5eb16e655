"""Routes of the patrol module (plugged into ``web.routes``).

Permissions: ``patrol:read`` (plans, tasks, hazards, statistics in the caller's scope),
``patrol:write`` (check-in, checklist, rectify/review hazards; plans need the officer or
admin workflow role), ``cases:write`` (escalate a hazard to a case).
"""

from __future__ import annotations

from typing import Final

from web.casework.kernel.access import ERRORS as CASEWORK_ERRORS
from web.casework.patrol import handlers as h
from web.casework.patrol.cycle import CYCLES
from web.openapi import Endpoint, Page, Param, obj, page_of, text
from web.pages import NavItem

__all__ = ["API", "ERRORS", "NAV", "PAGES"]

_INT: Final = {"type": "integer"}
_ID: Final = {"type": "integer", "minimum": 1, "maximum": 2147483647}
_IDS: Final = {"type": "array", "maxItems": 2000, "items": _ID}
_DATE: Final = {"type": "string", "format": "date"}
_LIST: Final = {"type": "array", "items": {"type": "object"}}
_OK: Final = obj({"ok": {"type": "boolean"}})
_PHOTOS: Final = {
    "type": "array",
    "maxItems": 20,
    "items": text(64, 1),
    "description": "POST /api/v1/uploads 返回的照片令牌",
}
_PAGING: Final = (
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, description="每页条数"),
    Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
)
HAZARD_STATE: Final = obj({"id": _INT, "state": {"type": "string"}, "round": _INT})

E = Endpoint
#: The casework refusals → HTTP answers (see web.errors).
ERRORS: Final = CASEWORK_ERRORS

API: Final[tuple[Endpoint, ...]] = (
    E(
        "GET", "/api/v1/patrol/plans", h.list_plans, "patrol:read", "巡查计划", "巡查",
        params=(Param("active", {"type": "boolean"}), *_PAGING), response=_LIST,
    ),
    E(
        "POST", "/api/v1/patrol/plans", h.add_plan, "patrol:write",
        "制定巡查计划（站点/巡查点/区域，周期，执行人或网格职责）", "巡查",
        body=obj({
            "name": text(100, 1),
            "cycle": {"type": "string", "enum": list(CYCLES)},
            "start_date": _DATE,
            "end_date": _DATE,
            "every_days": {"type": "integer", "minimum": 1, "maximum": 366},
            "due_hours": {"type": "integer", "minimum": 1, "maximum": 8784},
            "area_id": _ID,
            "station_ids": _IDS,
            "point_ids": _IDS,
            "check_items": {"type": "array", "maxItems": 100,
                            "items": text(40, 1)},
            "assignee_person_id": _ID,
            "assignee_duty": {"type": "string", "enum": list(h.DUTIES)},
        }, "name", "cycle", "start_date"),
        status=201, response=obj({"id": _INT}), audit=True,
    ),
    E(
        "PATCH", "/api/v1/patrol/plans/{id}", h.patch_plan, "patrol:write", "启用/停用巡查计划",
        "巡查",
        body=obj({"active": {"type": "boolean"}}, "active"),
        response=_OK,
    ),
    E(
        "GET", "/api/v1/patrol/check-items", h.check_items, "patrol:read",
        "检查项（按站点类型）", "巡查",
        params=(Param("st", text(4), description="系统编码"),),
        response=_LIST,
    ),
    E(
        "PUT", "/api/v1/patrol/check-items", h.put_check_item, "grid:write",
        "新增或修改检查项（按系统编码与检查项编码；active=false 停用）", "巡查",
        body=obj({
            "st": text(4, 1),
            "code": text(40, 1),
            "label": text(100, 1),
            "position": {"type": "integer", "minimum": 0, "maximum": 10000},
            "active": {"type": "boolean"},
        }, "st", "code", "label"),
        response=_OK, audit=True,
    ),
    E(
        "GET", "/api/v1/patrol/tasks", h.list_tasks, "patrol:read",
        "巡查任务（mine=true：我的任务）", "巡查",
        params=(
            Param("state", text(200),
                  description="pending/in_progress/done/overdue，逗号分隔"),
            Param("grid", _ID),
            Param("mine", {"type": "boolean"}),
            Param("from", {"type": "string", "format": "date-time"}),
            Param("to", {"type": "string", "format": "date-time"}),
            *_PAGING,
        ),
        response=page_of({"type": "object"}),
    ),
    E(
        "GET", "/api/v1/patrol/tasks/{id}", h.get_task, "patrol:read",
        "巡查任务详情（签到、检查结果、照片、隐患）", "巡查",
    ),
    E(
        "POST", "/api/v1/patrol/tasks/{id}/checkin", h.check_in, "patrol:write",
        "现场签到（浏览器定位的经纬度；超出距离会被标记）", "巡查",
        body=obj({
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "accuracy_m": {"type": "number", "minimum": 0, "maximum": 1000000},
            "note": text(500),
            "photos": _PHOTOS,
        }, "lat", "lon"),
        status=201,
        response=obj({"id": _INT, "out_of_range": {"type": "boolean"}}),
    ),
    E(
        "POST", "/api/v1/patrol/tasks/{id}/checklist", h.submit_checklist, "patrol:write",
        "提交检查结果（不合格项生成隐患）并完成任务", "巡查",
        body=obj({
            "results": {
                "type": "array",
                "minItems": 1,
                "maxItems": 200,
                "items": obj({
                        "code": text(40),
                        "ok": {"type": "boolean"},
                        "value": text(200),
                        "note": text(1000),
                        "rectifier_person_id": _ID,
                    }, "code", "ok"),
            },
            "photos": _PHOTOS,
        }, "results"),
    ),
    E(
        "GET", "/api/v1/patrol/hazards", h.list_hazards, "patrol:read", "隐患台账", "巡查",
        params=(
            Param("state", text(100),
                  description="rectifying/reviewing/passed，逗号分隔"),
            Param("grid", _ID),
            *_PAGING,
        ),
        response=page_of({"type": "object"}),
    ),
    E(
        "GET", "/api/v1/patrol/hazards/{id}", h.get_hazard, "patrol:read",
        "隐患详情（各轮整改与复查）", "巡查",
    ),
    E(
        "POST", "/api/v1/patrol/hazards/{id}/rectify", h.rectify_hazard, "patrol:write",
        "提交整改（说明与照片）", "巡查",
        body=obj({"note": text(1000), "photos": _PHOTOS}, "note"),
        response=HAZARD_STATE,
    ),
    E(
        "POST", "/api/v1/patrol/hazards/{id}/review", h.review_hazard, "patrol:write",
        "复查整改（通过归档 / 不通过进入下一轮）", "巡查",
        body=obj({"passed": {"type": "boolean"},
                           "note": text(1000)}, "passed"),
        response=HAZARD_STATE,
    ),
    E(
        "POST", "/api/v1/patrol/hazards/{id}/escalate", h.escalate_hazard, "cases:write",
        "隐患转案件", "巡查", status=201,
        response=obj({"case_id": _INT, "code": {"type": "string"}}),
    ),
    E(
        "GET", "/api/v1/patrol/stats", h.stats, "patrol:read",
        "巡查统计：完成率、按时完成率、超期、隐患（按人员/网格）", "巡查",
        params=(
            Param("group", {"type": "string", "enum": ["person", "grid"]}),
            Param("from", {"type": "string", "format": "date-time"}),
            Param("to", {"type": "string", "format": "date-time"}),
        ),
    ),
)  # fmt: skip

PAGES: Final[tuple[Page, ...]] = (
    Page("GET", "/patrol/plans", h.plans_page, "patrol:read", "patrol_plans"),
    Page("GET", "/patrol/tasks", h.tasks_page, "patrol:read", "patrol_tasks"),
    Page("GET", r"/patrol/tasks/{id:\d+}", h.task_page, "patrol:read", "patrol_task"),
    Page("GET", "/patrol/hazards", h.hazards_page, "patrol:read", "patrol_hazards"),
    Page("GET", r"/patrol/hazards/{id:\d+}", h.hazard_page, "patrol:read", "patrol_hazard"),
)

NAV: Final[tuple[NavItem, ...]] = (NavItem("/patrol/tasks", "巡查", "patrol:read", "patrol"),)
