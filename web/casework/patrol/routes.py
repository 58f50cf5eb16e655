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
from web.openapi import Endpoint, Page, Param, page_of
from web.pages import NavItem

__all__ = ["API", "ERRORS", "NAV", "PAGES"]

_INT: Final = {"type": "integer"}
_ID: Final = {"type": "integer", "minimum": 1, "maximum": 2147483647}
_IDS: Final = {"type": "array", "maxItems": 2000, "items": _ID}
_DATE: Final = {"type": "string", "format": "date"}
_LIST: Final = {"type": "array", "items": {"type": "object"}}
_OK: Final = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
_PHOTOS: Final = {
    "type": "array",
    "maxItems": 20,
    "items": {"type": "string", "minLength": 1, "maxLength": 64},
    "description": "POST /api/v1/uploads 返回的照片令牌",
}
_PAGING: Final = (
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, description="每页条数"),
    Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
)
HAZARD_STATE: Final = {
    "type": "object",
    "properties": {"id": _INT, "state": {"type": "string"}, "round": _INT},
}

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
        body={
            "type": "object",
            "required": ["name", "cycle", "start_date"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100},
                "cycle": {"type": "string", "enum": list(CYCLES)},
                "start_date": _DATE,
                "end_date": _DATE,
                "every_days": {"type": "integer", "minimum": 1, "maximum": 366},
                "due_hours": {"type": "integer", "minimum": 1, "maximum": 8784},
                "area_id": _ID,
                "station_ids": _IDS,
                "point_ids": _IDS,
                "check_items": {"type": "array", "maxItems": 100,
                                "items": {"type": "string", "minLength": 1, "maxLength": 40}},
                "assignee_person_id": _ID,
                "assignee_duty": {"type": "string", "enum": list(h.DUTIES)},
            },
        },
        status=201, response={"type": "object", "properties": {"id": _INT}}, audit=True,
    ),
    E(
        "PATCH", "/api/v1/patrol/plans/{id}", h.patch_plan, "patrol:write", "启用/停用巡查计划",
        "巡查",
        body={"type": "object", "required": ["active"],
              "properties": {"active": {"type": "boolean"}}},
        response=_OK,
    ),
    E(
        "GET", "/api/v1/patrol/check-items", h.check_items, "patrol:read",
        "检查项（按站点类型）", "巡查",
        params=(Param("st", {"type": "string", "maxLength": 4}, description="系统编码"),),
        response=_LIST,
    ),
    E(
        "GET", "/api/v1/patrol/tasks", h.list_tasks, "patrol:read",
        "巡查任务（mine=true：我的任务）", "巡查",
        params=(
            Param("state", {"type": "string", "maxLength": 200},
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
        body={
            "type": "object",
            "required": ["lat", "lon"],
            "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                "accuracy_m": {"type": "number", "minimum": 0, "maximum": 1000000},
                "note": {"type": "string", "maxLength": 500},
                "photos": _PHOTOS,
            },
        },
        status=201,
        response={
            "type": "object",
            "properties": {"id": _INT, "out_of_range": {"type": "boolean"}},
        },
    ),
    E(
        "POST", "/api/v1/patrol/tasks/{id}/checklist", h.submit_checklist, "patrol:write",
        "提交检查结果（不合格项生成隐患）并完成任务", "巡查",
        body={
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 200,
                    "items": {
                        "type": "object",
                        "required": ["code", "ok"],
                        "properties": {
                            "code": {"type": "string", "maxLength": 40},
                            "ok": {"type": "boolean"},
                            "value": {"type": "string", "maxLength": 200},
                            "note": {"type": "string", "maxLength": 1000},
                            "rectifier_person_id": _ID,
                        },
                    },
                },
                "photos": _PHOTOS,
            },
        },
    ),
    E(
        "GET", "/api/v1/patrol/hazards", h.list_hazards, "patrol:read", "隐患台账", "巡查",
        params=(
            Param("state", {"type": "string", "maxLength": 100},
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
        body={
            "type": "object",
            "required": ["note"],
            "properties": {"note": {"type": "string", "maxLength": 1000}, "photos": _PHOTOS},
        },
        response=HAZARD_STATE,
    ),
    E(
        "POST", "/api/v1/patrol/hazards/{id}/review", h.review_hazard, "patrol:write",
        "复查整改（通过归档 / 不通过进入下一轮）", "巡查",
        body={
            "type": "object",
            "required": ["passed"],
            "properties": {"passed": {"type": "boolean"},
                           "note": {"type": "string", "maxLength": 1000}},
        },
        response=HAZARD_STATE,
    ),
    E(
        "POST", "/api/v1/patrol/hazards/{id}/escalate", h.escalate_hazard, "cases:write",
        "隐患转案件", "巡查", status=201,
        response={"type": "object", "properties": {"case_id": _INT, "code": {"type": "string"}}},
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
