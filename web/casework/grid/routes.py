"""Routes of the grid module (plugged into ``web.routes``).

Permissions: ``grid:read`` (map, areas, people, units, export in the caller's scope),
``grid:write`` (people, duties, units, patrol points; GeoJSON import and the
point-in-polygon re-assignment need an unrestricted data scope).
"""

from __future__ import annotations

from typing import Final

from web.casework.grid import editor
from web.casework.grid import handlers as h
from web.casework.kernel.access import ERRORS as CASEWORK_ERRORS
from web.openapi import Endpoint, Page, Param, obj, page_of, text
from web.pages import NavItem

__all__ = ["API", "ERRORS", "NAV", "PAGES"]

_INT: Final = {"type": "integer"}
_STR: Final = {"type": "string"}
_ID: Final = {"type": "integer", "minimum": 1, "maximum": 2147483647}
_OK: Final = obj({"ok": {"type": "boolean"}})
_LIST: Final = {"type": "array", "items": {"type": "object"}}
_ROLE: Final = {"type": "string", "enum": list(h.ROLES)}
PERSON_BODY: Final = obj(
    {
        "name": text(64, 1),
        "phone": text(32),
        "role": _ROLE,
        "unit_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647},
        "user_name": {"type": ["string", "null"], "maxLength": 64},
        "receiver_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647},
        "active": {"type": "boolean"},
    }
)

_GEOMETRY: Final = {
    "type": ["object", "null"],
    "description": "GeoJSON Polygon/MultiPolygon（WGS 84，[经度, 纬度]）；不得自相交、不得有空洞，"
    "须在上级边界内且不与同级区域重叠",
}
AREA_BODY: Final = obj(
    {
        "code": text(40, 1),
        "name": text(100, 1),
        "level": {"type": "integer", "minimum": 1, "maximum": 5},
        "parent_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647},
        "boundary": _GEOMETRY,
    }
)

E = Endpoint
#: The casework refusals → HTTP answers (see web.errors).
ERRORS: Final = CASEWORK_ERRORS

API: Final[tuple[Endpoint, ...]] = (
    E("GET", "/api/v1/grid/me", h.me, "user", "当前账号对应的网格人员、角色与职责", "网格"),
    E(
        "GET", "/api/v1/grid/areas", h.list_areas, "grid:read", "区域与网格（数据范围内）", "网格",
        params=(
            Param("level", {"type": "integer", "minimum": 1, "maximum": 5}),
            Param("parent", _ID, description="上级区域 id"),
            Param("boundary", {"type": "boolean"}, description="包含 GeoJSON 边界"),
        ),
        response=_LIST,
    ),
    E(
        "POST", "/api/v1/grid/areas", editor.create_area, "grid:write",
        "新增区域（可带绘制的边界；检查自相交、空洞、超出上级、与同级重叠）", "网格",
        body={**AREA_BODY, "required": ["code", "name", "level"]},
        status=201, response=obj({"id": _INT}), audit=True,
    ),
    E(
        "PATCH", "/api/v1/grid/areas/{id}", editor.patch_area, "grid:write",
        "修改区域：名称、边界（重画）、上级（移动到同层级的另一上级下）", "网格",
        body=obj({
            "name": text(100, 1),
            "parent_id": {"type": "integer", "minimum": 1, "maximum": 2147483647},
            "boundary": _GEOMETRY,
        }),
        response=_OK, audit=True,
    ),
    E(
        "GET", "/api/v1/grid/areas/{id}", h.area_detail, "grid:read",
        "网格详情：上下级、人员职责、责任单位、站点、巡查点、案件与巡查计数", "网格",
    ),
    E(
        "GET", "/api/v1/grid/map", h.grid_map, "grid:read",
        "网格地图图层：边界、站点、巡查点、未结案件", "网格",
        params=(
            Param("area", _ID, description="只看该区域及下级"),
            Param("min_level", {"type": "integer", "minimum": 1, "maximum": 5},
                  description="边界的最低层级"),
        ),
        response=obj({
            "areas": {"type": "object"},
            "stations": {"type": "object"},
            "points": {"type": "object"},
            "cases": {"type": "object"},
        }, "areas", "stations", "points", "cases"),
    ),
    E(
        "PUT", "/api/v1/grid/areas/{id}/units", h.set_unit, "grid:write",
        "设置区域的责任单位（按案件类别，* 为全部类别）", "网格",
        body=obj({"unit_id": _ID, "category": text(40)}, "unit_id"),
        response=_OK,
    ),
    E(
        "POST", "/api/v1/grid/areas/{id}/duties", h.add_duty, "grid:write",
        "指定网格长/网格员/监督员", "网格",
        body=obj({
            "person_id": _ID,
            "duty": {"type": "string", "enum": list(h.DUTIES)},
        }, "person_id", "duty"),
        response=_OK,
    ),
    E(
        "DELETE", "/api/v1/grid/areas/{id}/duties/{person}", h.remove_duty, "grid:write",
        "取消人员在区域的职责", "网格",
        params=(Param("duty", {"type": "string", "enum": list(h.DUTIES)}, required=True),),
        response=_OK,
    ),
    E(
        "GET", "/api/v1/grid/people", h.list_people, "grid:read", "网格人员", "网格",
        params=(
            Param("role", _ROLE),
            Param("unit", _ID),
            Param("area", _ID, description="在该区域及下级有职责"),
            Param("q", text(64), description="姓名、电话或登录名"),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
            Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
        ),
        response=page_of({"type": "object"}),
    ),
    E(
        "POST", "/api/v1/grid/people", h.add_person, "grid:write",
        "新增网格人员（可关联登录账号与通知渠道）", "网格",
        body={**PERSON_BODY, "required": ["name", "role"]},
        status=201, response=obj({"id": _INT}),
    ),
    E(
        "PATCH", "/api/v1/grid/people/{id}", h.patch_person, "grid:write",
        "修改网格人员（单位、登录账号、通知渠道、停用）", "网格", body=PERSON_BODY, response=_OK,
    ),
    E("GET", "/api/v1/grid/units", h.list_units, "grid:read", "责任单位（专业部门）", "网格",
      response=_LIST),
    E(
        "POST", "/api/v1/grid/units", h.add_unit, "grid:write", "新增责任单位", "网格",
        body=obj({
            "code": text(40, 1),
            "name": text(100, 1),
            "kind": {"type": "string", "enum": list(h.UNIT_KINDS)},
            "phone": text(32),
        }, "code", "name"),
        status=201, response=obj({"id": _INT}),
    ),
    E(
        "GET", "/api/v1/grid/points", h.list_points, "grid:read", "巡查点", "网格",
        params=(
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
        ),
        response=_LIST,
    ),
    E(
        "POST", "/api/v1/grid/points", h.add_point, "grid:write",
        "新增巡查点（按位置归入网格）", "网格",
        body=obj({
            "code": text(40, 1),
            "name": text(100, 1),
            "kind": text(40),
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "station_id": _ID,
        }, "code", "name", "lat", "lon"),
        status=201, response=obj({"id": _INT}),
    ),
    E(
        "POST", "/api/v1/grid/import", h.import_geojson, "grid:write",
        "导入网格边界（GeoJSON FeatureCollection，按 code 新增或更新）", "网格",
        body=obj({
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": {"type": "object"}},
        }, "type", "features"),
        response=obj({"created": _INT, "updated": _INT, "warnings": {"type": "array"}}),
        audit=True,
    ),
    E(
        "GET", "/api/v1/grid/export", h.export_geojson, "grid:read",
        "导出网格边界（GeoJSON，数据范围内）", "网格",
        content_type="application/geo+json", response={"type": "object"},
    ),
    E(
        "POST", "/api/v1/grid/assign", h.assign_locations, "grid:write",
        "按位置将站点和巡查点归入网格（点在多边形内）", "网格",
        body=obj({"reassign": {"type": "boolean"}}),
        response={"type": "object"},
        audit=True,
    ),
)  # fmt: skip

PAGES: Final[tuple[Page, ...]] = (
    Page("GET", "/grid", h.map_page, "grid:read", "grid_map"),
    Page("GET", r"/grid/{id:\d+}", h.detail_page, "grid:read", "grid_detail"),
    Page("GET", "/grid/edit", editor.edit_page, "grid:write", "grid_edit"),
    Page("GET", "/grid/people", editor.people_page, "grid:write", "grid_people"),
)

NAV: Final[tuple[NavItem, ...]] = (
    NavItem("/grid", "网格", "grid:read", "grid"),
    NavItem("/grid/edit", "网格设置", "grid:write", "grid", 83),
)
