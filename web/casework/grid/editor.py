"""API handlers and the page of the area editor (网格设置): create an area with a drawn
boundary, rename / redraw / move one.  Thin: validate the body, check the data scope, one
call into :mod:`web.casework.grid.editing`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from web import context, params
from web.casework.grid import editing, views
from web.casework.kernel.access import acting, case_config
from web.pages import shell
from web.responses import ApiError, json_response

__all__ = ["create_area", "edit_page", "patch_area", "people_page"]


def _boundary(body: Mapping[str, Any]) -> dict[str, Any] | None:
    value = body.get("boundary")
    if value is not None and not isinstance(value, dict):
        raise ApiError(
            400, "bad_parameter", "参数 boundary 无效：应为 GeoJSON 几何对象", parameter="boundary"
        )
    return value


async def create_area(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    code = params.body_str(body, "code", required=True, max_len=40) or ""
    name = params.body_str(body, "name", required=True, max_len=100) or ""
    level = params.body_int(body, "level", required=True, minimum=1, maximum=5) or 1
    parent = params.body_int(body, "parent_id", minimum=1)
    boundary = _boundary(body)
    async with acting(request, transaction=True) as (conn, caller):
        if parent is None:
            views.require_unscoped(caller.scope, "新增第 1 级区域")
        else:
            await views.require_area(conn, parent, caller.scope)
        area_id = await editing.add_area(
            conn, code=code, name=name, level=level, parent_id=parent, boundary=boundary
        )
    context.audit(request, area=area_id, code=code)
    return json_response({"id": area_id}, status=201)


async def patch_area(request: web.Request) -> web.Response:
    area_id = params.path_int(request)
    body = await params.json_body(request)
    patch = editing.AreaPatch(
        name=params.body_str(body, "name", max_len=100) or None,
        parent_id=params.body_int(body, "parent_id", minimum=1),
        boundary=("boundary" in body, _boundary(body)),
    )
    async with acting(request, transaction=True) as (conn, caller):
        await views.require_area(conn, area_id, caller.scope)
        if patch.parent_id is not None:
            await views.require_area(conn, patch.parent_id, caller.scope)
        await editing.edit_area(conn, area_id, patch)
    context.audit(request, area=area_id)
    return json_response({"ok": True})


def _edit_config(request: web.Request) -> dict[str, Any]:
    return {"levelNames": list(case_config(request).cases.level_names)}


edit_page: Final = shell("grid/edit.html", "网格设置", _edit_config)
people_page: Final = shell("grid/people.html", "人员与单位", _edit_config)
