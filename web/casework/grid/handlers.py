"""API handlers and pages of the grid module (thin: validate, one call, serialise)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

import orjson
from aiohttp import web

from web import context, params
from web.casework.grid import geojson, views
from web.casework.grid import queries as q
from web.casework.grid import service as grid
from web.casework.kernel import people, tree
from web.casework.kernel.access import acting, case_config, now, rows_response
from web.pages import shell
from web.responses import ApiError, json_response
from web.users import grants

__all__ = [
    "add_duty",
    "add_person",
    "add_point",
    "add_unit",
    "area_detail",
    "assign_locations",
    "export_geojson",
    "grid_map",
    "import_geojson",
    "list_areas",
    "list_people",
    "list_points",
    "list_units",
    "me",
    "patch_person",
    "remove_duty",
    "set_unit",
]

ROLES: Final = ("admin", "officer", "unit", "grid_member", "viewer")
DUTIES: Final = ("head", "member", "supervisor")
UNIT_KINDS: Final = ("department", "street", "company", "other")
MAX_GEOJSON_BYTES: Final = 50 * 1024 * 1024


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", f"参数 {name} 无效：{message}", parameter=name)


async def me(request: web.Request) -> web.Response:
    async with acting(request) as (conn, caller):
        duties = (
            [dict(r) for r in await q.person_duties(conn, caller.person.id)]
            if caller.person
            else []
        )
    return json_response({**caller.to_json(), "duties": duties})


async def list_areas(request: web.Request) -> web.Response:
    qy = request.query
    level = params.opt_int(qy, "level", minimum=1, maximum=5)
    parent = params.opt_int(qy, "parent", minimum=1)
    boundary = bool(params.opt_bool(qy, "boundary"))
    async with acting(request) as (conn, caller):
        rows = await q.scoped_areas(conn, caller.scope, level, parent, boundary)
    return json_response([dict(r) for r in rows])


async def area_detail(request: web.Request) -> web.Response:
    config = case_config(request)
    async with acting(request) as (conn, caller):
        detail = await views.area_detail(
            conn,
            params.path_int(request),
            caller.scope,
            now=now(),
            level_names=config.cases.level_names,
        )
    return json_response(detail)


async def grid_map(request: web.Request) -> web.Response:
    qy = request.query
    area = params.opt_int(qy, "area", minimum=1)
    min_level = params.opt_int(qy, "min_level", minimum=1, maximum=5) or 1
    async with acting(request) as (conn, caller):
        body = await views.grid_map(conn, caller.scope, area=area, min_level=min_level, now=now())
    return web.Response(body=body, content_type="application/json")


async def list_people(request: web.Request) -> web.Response:
    qy = request.query
    page = params.paging(qy, 500, 100)
    async with acting(request) as (conn, caller):
        rows = [
            dict(r)
            for r in await q.people(
                conn,
                params.opt_choice(qy, "role", ROLES),
                params.opt_int(qy, "unit", minimum=1),
                params.opt_int(qy, "area", minimum=1),
                params.opt_str(qy, "q", max_len=64),
                caller.scope,
                page.limit,
                page.offset,
            )
        ]
    total = int(rows[0].pop("total")) if rows else 0
    for r in rows[1:]:
        r.pop("total")
    return json_response(page.wrap(rows, total))


def _opt_set(body: Mapping[str, Any], name: str) -> bool:
    return name in body


async def add_person(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    role = params.body_str(body, "role", required=True, max_len=20) or ""
    if role not in ROLES:
        raise _bad("role", f"应为 {'/'.join(ROLES)} 之一")
    user_name = params.body_str(body, "user_name", max_len=64)
    async with acting(request, transaction=True) as (conn, caller):
        views.require_unscoped(caller.scope, "新增人员")
        if user_name:
            await grants.check_link(conn, caller.principal, user_name, role)
        person_id = await people.create_person(
            conn,
            params.body_str(body, "name", required=True, max_len=64) or "",
            role,
            phone=params.body_str(body, "phone", max_len=32) or "",
            unit_id=params.body_int(body, "unit_id", minimum=1),
            user_name=user_name,
        )
        receiver = params.body_int(body, "receiver_id", minimum=1)
        if receiver is not None:
            await q.set_person_receiver(conn, person_id, receiver)
    return json_response({"id": person_id}, status=201)


async def patch_person(request: web.Request) -> web.Response:
    person_id = params.path_int(request)
    body = await params.json_body(request)
    patch = views.PersonPatch(
        name=params.body_str(body, "name", max_len=64),
        phone=params.body_str(body, "phone", max_len=32),
        unit=(_opt_set(body, "unit_id"), params.body_int(body, "unit_id", minimum=1)),
        user_name=(
            _opt_set(body, "user_name"),
            params.body_str(body, "user_name", max_len=64) or None,
        ),
        receiver=(_opt_set(body, "receiver_id"), params.body_int(body, "receiver_id", minimum=1)),
        active=params.body_bool(body, "active"),
    )
    async with acting(request, transaction=True) as (conn, caller):
        views.require_unscoped(caller.scope, "修改人员")
        person = await people.get_person(conn, person_id)
        if person is not None and patch.user_name[0]:
            # the account linked now and the one linked next: both within the caller's
            for linked in (person.user_name, patch.user_name[1]):
                if linked:
                    await grants.check_link(conn, caller.principal, linked, person.role)
        await views.update_person(conn, person_id, patch)
    return json_response({"ok": True})


async def add_duty(request: web.Request) -> web.Response:
    area_id = params.path_int(request)
    body = await params.json_body(request)
    person = params.body_int(body, "person_id", required=True, minimum=1) or 0
    duty = params.body_str(body, "duty", required=True, max_len=20) or ""
    if duty not in DUTIES:
        raise _bad("duty", f"应为 {'/'.join(DUTIES)} 之一")
    async with acting(request) as (conn, caller):
        await views.require_area(conn, area_id, caller.scope)
        await people.set_duty(conn, area_id, person, cast(people.Duty, duty))
    return json_response({"ok": True})


async def remove_duty(request: web.Request) -> web.Response:
    area_id = params.path_int(request)
    person = params.path_int(request, "person")
    duty = params.opt_choice(request.query, "duty", DUTIES)
    if duty is None:
        raise _bad("duty", "必填")
    async with acting(request) as (conn, caller):
        await views.require_area(conn, area_id, caller.scope)
        removed = await people.remove_duty(conn, area_id, person, cast(people.Duty, duty))
    return json_response({"ok": True, "removed": removed})


async def list_units(request: web.Request) -> web.Response:
    return await rows_response(request, q.units_list)


async def add_unit(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    kind = params.body_str(body, "kind", max_len=20) or "department"
    if kind not in UNIT_KINDS:
        raise _bad("kind", f"应为 {'/'.join(UNIT_KINDS)} 之一")
    async with acting(request) as (conn, caller):
        views.require_unscoped(caller.scope, "新增单位")
        unit_id = await people.create_unit(
            conn,
            params.body_str(body, "code", required=True, max_len=40) or "",
            params.body_str(body, "name", required=True, max_len=100) or "",
            kind=kind,
            phone=params.body_str(body, "phone", max_len=32) or "",
        )
    return json_response({"id": unit_id}, status=201)


async def set_unit(request: web.Request) -> web.Response:
    area_id = params.path_int(request)
    body = await params.json_body(request)
    unit = params.body_int(body, "unit_id", required=True, minimum=1) or 0
    category = params.body_str(body, "category", max_len=40) or "*"
    async with acting(request) as (conn, caller):
        await views.require_area(conn, area_id, caller.scope)
        await people.set_area_unit(conn, area_id, unit, category)
    return json_response({"ok": True})


async def list_points(request: web.Request) -> web.Response:
    page = params.paging(request.query, 1000, 200)
    async with acting(request) as (conn, caller):
        rows = await q.points(conn, caller.scope, page.limit, page.offset)
    return json_response([dict(r) for r in rows])


async def add_point(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    lat = params.body_float(body, "lat", minimum=-90, maximum=90)
    lon = params.body_float(body, "lon", minimum=-180, maximum=180)
    if lat is None or lon is None:
        raise _bad("lat", "须给出经纬度")
    at = now()
    async with acting(request, transaction=True) as (conn, caller):
        point_id = await grid.create_point(
            conn,
            params.body_str(body, "code", required=True, max_len=40) or "",
            params.body_str(body, "name", required=True, max_len=100) or "",
            lat,
            lon,
            kind=params.body_str(body, "kind", max_len=40) or "",
            station_id=params.body_int(body, "station_id", minimum=1),
        )
        index = await grid.load_grid_index(conn)
        area = index.locate(lon, lat)
        if area is not None:
            if caller.scope is not None:
                await views.require_area(conn, area, caller.scope)
            await grid.assign(
                conn,
                "patrol_point",
                point_id,
                area,
                method="location",
                now=at,
                by=caller.actor.name,
            )
        elif caller.scope is not None:
            raise ApiError(403, "out_of_scope", "巡查点不在您的管辖网格内")
    return json_response({"id": point_id, "grid_id": area}, status=201)


async def import_geojson(request: web.Request) -> web.Response:
    if request.content_type not in ("application/json", "application/geo+json"):
        raise ApiError(415, "unsupported_media_type", "请求体应为 GeoJSON（application/json）")
    raw = bytearray()
    while chunk := await request.content.read(1 << 20):
        raw += chunk
        if len(raw) > MAX_GEOJSON_BYTES:
            raise ApiError(413, "too_large", "GeoJSON 文件过大（上限 50 MB）")
    try:
        document = orjson.loads(bytes(raw))
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_json", "请求体不是有效的 JSON") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise ApiError(400, "bad_geojson", "应为 GeoJSON FeatureCollection")
    config = case_config(request)
    async with acting(request) as (conn, caller):
        views.require_unscoped(caller.scope, "导入网格")
        report = await geojson.import_areas(conn, document, config.cases.level_names)
    context.audit(request, created=report.created, updated=report.updated)
    return json_response(
        {"created": report.created, "updated": report.updated, "warnings": list(report.warnings)}
    )


async def export_geojson(request: web.Request) -> web.Response:
    config = case_config(request)
    async with acting(request) as (conn, caller):
        ids = await tree.scope_area_ids(conn, caller.scope) if caller.scope is not None else None
        document = await geojson.export_areas(conn, ids, config.cases.level_names)
    return web.Response(
        body=orjson.dumps(document),
        content_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="grid.geojson"'},
    )


async def assign_locations(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    reassign = bool(params.body_bool(body, "reassign"))
    at = now()
    async with acting(request) as (conn, caller):
        views.require_unscoped(caller.scope, "按位置归属网格")
        index = await grid.load_grid_index(conn)
        out: dict[str, Any] = {}
        for entity in ("station", "patrol_point"):
            report = await grid.assign_by_location(
                conn,
                entity,
                now=at,
                index=index,
                reassign=reassign,
                by=caller.actor.name,
            )
            out[entity] = {
                "assigned": report.assigned,
                "unchanged": report.unchanged,
                "outside": list(report.outside),
            }
    context.audit(request, reassign=reassign)
    return json_response(out)


# -- pages ---------------------------------------------------------------------------------


def _map_config(request: web.Request) -> dict[str, Any]:
    can = context.caller(request).can
    return {"canCases": can("cases:read"), "canPatrol": can("patrol:read")}


def _detail_config(request: web.Request) -> dict[str, Any]:
    can = context.caller(request).can
    area = params.path_int(request)
    return {"areaId": area, "canWrite": can("grid:write"), "canCases": can("cases:read")}


map_page: Final = shell("grid/map.html", "网格地图", _map_config)
detail_page: Final = shell("grid/detail.html", "网格详情", _detail_config)
