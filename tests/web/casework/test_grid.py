"""Grid: hierarchy and scope, GeoJSON import/export, point-in-polygon with history."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from tests.web.casework.conftest import NOW, World, square
from web.casework.grid import service as grid
from web.casework.grid.geo import GridIndex, distance_to_geometry_m, haversine_m, parse_polygon
from web.casework.grid.geojson import export_areas, import_areas, plan_import
from web.casework.kernel import errors, people, tree
from web.casework.kernel.errors import GeoJSONImportError


def feature(
    code: str, level: int, parent: str | None, box: tuple[float, ...] | None, **props: object
) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": square(*box) if box else None,
        "properties": {
            "code": code,
            "name": f"区域{code}",
            "level": level,
            "parent_code": parent,
            **props,
        },
    }


def collection(*features: dict[str, object]) -> dict[str, object]:
    return {"type": "FeatureCollection", "features": list(features)}


async def test_scope_is_the_subtree(db_conn: asyncpg.Connection, world: World) -> None:
    a = world.areas
    district = await tree.scope_area_ids(db_conn, [a["D1"]])
    assert district == {a["D1"], a["S1"], a["M1"], a["G1"], a["G2"]}
    assert await tree.scope_area_ids(db_conn, [a["G3"], a["M1"]]) == {
        a["G3"],
        a["M1"],
        a["G1"],
        a["G2"],
    }
    assert await tree.scope_area_ids(db_conn, []) == frozenset()
    chain = [r["code"] for r in await tree.ancestors(db_conn, a["G1"])]
    assert chain == ["G1", "M1", "S1", "D1", "C"]


async def test_create_area_checks_levels(db_conn: asyncpg.Connection, world: World) -> None:
    with pytest.raises(errors.GridError, match="下级须为 5"):
        await grid.create_area(db_conn, code="X", name="x", level=3, parent_id=world.areas["M1"])
    with pytest.raises(errors.GridError, match="只有第 1 级"):
        await grid.create_area(db_conn, code="Y", name="y", level=2)


async def test_responsible_unit_walks_up(db_conn: asyncpg.Connection, world: World) -> None:
    a, u = world.areas, world.units
    assert await people.responsible_unit(db_conn, a["G1"], "env.exceedance") == u["U_ENV"]
    # an exact category mapping higher up beats '*' nearer
    assert await people.responsible_unit(db_conn, a["G1"], "complaint.water") == u["U_WATER"]
    await people.set_area_unit(db_conn, a["G1"], u["U_WATER"])
    assert await people.responsible_unit(db_conn, a["G1"], "env.exceedance") == u["U_WATER"]
    assert await people.duty_people(db_conn, a["G2"], "member") == []
    assert await people.duty_people(db_conn, a["G1"], "head") == [world.people["GH"]]


def test_geometry_helpers() -> None:
    # 0.001° of latitude ≈ 111 m
    assert haversine_m(30.0, 120.0, 30.001, 120.0) == pytest.approx(111.2, abs=0.5)
    g = parse_polygon(square(120.0, 30.0, 120.1, 30.1))
    assert distance_to_geometry_m(g, 30.05, 120.05) == 0
    assert distance_to_geometry_m(g, 30.101, 120.05) == pytest.approx(111.2, abs=0.5)
    index = GridIndex(
        [
            (1, 4, parse_polygon(square(120.0, 30.0, 120.2, 30.2))),
            (2, 5, g),
            (3, 5, parse_polygon(square(120.1, 30.0, 120.2, 30.1))),
        ]
    )
    assert index.locate(120.05, 30.05) == 2  # deepest level wins over the community
    assert index.locate(120.15, 30.15) == 1
    assert index.locate(120.1, 30.05) == 2  # on the shared border: lowest id
    assert index.locate(121.0, 30.05) is None


def test_plan_import_errors_and_warnings() -> None:
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    doc = collection(
        feature("A", 1, None, (120.0, 30.0, 120.2, 30.2)),
        feature("B", 2, "A", (120.1, 30.1, 120.3, 30.3)),  # 3/4 outside A → warning
        feature("B", 2, "A", (120.0, 30.0, 120.1, 30.1)),  # duplicate code
        feature("C", 4, "A", (120.0, 30.0, 120.1, 30.1)),  # level jump
        feature("D", 3, "ZZ", None),  # unknown parent, no boundary
        {
            "type": "Feature",
            "geometry": bow_tie,
            "properties": {"code": "E", "name": "e", "level": 1},
        },
        feature("F", 6, "A", None),
        feature("G", 1, None, (200.0, 30.0, 201.0, 31.0)),
    )
    plan = plan_import(doc, {})
    text = "\n".join(plan.errors)
    assert "编码 B 在文件中重复" in text
    assert "其上级 A 须为第 3 级" in text
    assert "上级 ZZ 既不在文件中也不在系统中" in text
    assert "边线自相交（经度 0.5，纬度 0.5 附近）" in text
    assert "level 须为 1–5" in text
    assert "超出经纬度范围" in text
    warnings = "\n".join(plan.warnings)
    assert "75.0% 的面积超出上级 A" in warnings
    assert "没有边界" in warnings
    assert plan_import({"type": "Feature"}, {}).errors == ("文件须为 GeoJSON FeatureCollection",)


async def test_geojson_round_trip(db_conn: asyncpg.Connection, world: World) -> None:
    exported = await export_areas(db_conn)
    assert len(exported["features"]) == 10
    g1 = next(f for f in exported["features"] if f["properties"]["code"] == "G1")
    assert g1["properties"]["parent_code"] == "M1"
    assert g1["properties"]["level_name"] == "网格"
    # re-import changes nothing but counts as updates
    report = await import_areas(db_conn, exported)
    assert (report.created, report.updated) == (0, 10)
    assert await export_areas(db_conn) == exported
    # a new grid under M1 with extra properties kept in attrs
    report = await import_areas(
        db_conn,
        collection(
            feature("G4", 5, "M1", (120.05, 30.1, 120.1, 30.15), owner="街道办"),
        ),
    )
    assert (report.created, report.updated) == (1, 0)
    row = await db_conn.fetchrow("SELECT level, attrs, parent_id FROM areas WHERE code = 'G4'")
    assert row["attrs"] == {"owner": "街道办"} and row["parent_id"] == world.areas["M1"]
    # a subtree export (a user's scope)
    scope = await tree.scope_area_ids(db_conn, [world.areas["D2"]])
    sub = await export_areas(db_conn, scope)
    assert {f["properties"]["code"] for f in sub["features"]} == {"D2", "S2", "M2", "G3"}


async def test_import_is_all_or_nothing(db_conn: asyncpg.Connection, world: World) -> None:
    before = await db_conn.fetchval("SELECT count(*) FROM areas")
    with pytest.raises(GeoJSONImportError) as info:
        await import_areas(
            db_conn,
            collection(
                feature("N1", 5, "M1", (120.0, 30.0, 120.05, 30.05)),
                feature("N2", 5, "G1", (120.0, 30.0, 120.05, 30.05)),  # grid under a grid
            ),
        )
    assert "N2" in str(info.value)
    assert await db_conn.fetchval("SELECT count(*) FROM areas") == before


async def test_assignment_by_location_keeps_history(
    db_conn: asyncpg.Connection, world: World
) -> None:
    a = world.areas
    s2 = await db_conn.fetchval(
        "INSERT INTO stations (mn, name, lat, lon) VALUES ('S2', '二号站', 30.15, 120.05)"
        " RETURNING id"
    )
    s3 = await db_conn.fetchval(
        "INSERT INTO stations (mn, name, lat, lon) VALUES ('S3', '域外站', 31.5, 121.5) RETURNING id"
    )
    point = await grid.create_point(db_conn, "P1", "排口一", 30.05, 120.25)
    report = await grid.assign_by_location(db_conn, "station", now=NOW)
    assert report.assigned == 1 and report.outside == (s3,)
    assert await db_conn.fetchval("SELECT grid_id FROM stations WHERE id = $1", s2) == a["G2"]
    await grid.assign_by_location(db_conn, "patrol_point", now=NOW)
    assert (
        await db_conn.fetchval("SELECT grid_id FROM patrol_points WHERE id = $1", point) == a["G3"]
    )
    # moving the boundary: G2 shrinks, the station falls into a new grid G5
    await db_conn.execute(
        "UPDATE areas SET boundary = $2, updated_at = now() WHERE id = $1",
        a["G2"],
        square(120.0, 30.1, 120.04, 30.2),
    )
    g5 = await grid.create_area(
        db_conn,
        code="G5",
        name="网格五",
        level=5,
        parent_id=a["M1"],
        boundary=square(120.04, 30.1, 120.1, 30.2),
    )
    later = NOW + timedelta(days=30)
    report = await grid.assign_by_location(db_conn, "station", now=later, reassign=True)
    assert report.assigned == 1 and report.unchanged == 1
    history = await grid.assignment_history(db_conn, "station", s2)
    assert [(h.area_id, h.method, h.valid_to) for h in history] == [
        (a["G2"], "location", later),
        (g5, "location", None),
    ]
    # manual re-assignment with a reason; same grid again is a no-op
    assert await grid.assign(
        db_conn,
        "station",
        s2,
        a["G1"],
        method="manual",
        now=later,
        by="管理员",
        reason="站点实际归属网格一",
    )
    assert not await grid.assign(db_conn, "station", s2, a["G1"], method="manual", now=later)
    history = await grid.assignment_history(db_conn, "station", s2)
    assert history[-1].reason == "站点实际归属网格一" and len(history) == 3
    with pytest.raises(errors.GridError, match="站点 999999 不存在"):
        await grid.assign(db_conn, "station", 999999, a["G1"], method="manual", now=later)


async def test_grid_index_cache_rebuilds_on_change(
    db_conn: asyncpg.Connection, world: World
) -> None:
    cache = grid.GridIndexCache()
    first = await cache.get(db_conn)
    assert await cache.get(db_conn) is first
    await grid.create_area(
        db_conn,
        code="G6",
        name="网格六",
        level=5,
        parent_id=world.areas["M2"],
        boundary=square(120.2, 30.1, 120.3, 30.2),
    )
    second = await cache.get(db_conn)
    assert second is not first and len(second) == len(first) + 1
