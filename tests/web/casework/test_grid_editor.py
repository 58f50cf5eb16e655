"""The area editor's API (网格设置) against real PostgreSQL: create with a drawn
boundary, redraw, move, and each refusal — self-intersection, a hole, a sibling overlap,
a grid outside its parent, children left outside — plus the forbidden paths (roles
without ``grid:write``, a scoped officer outside their areas).  World: ``conftest``."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.web.casework.conftest import square
from tests.web.casework.web_fixture import WebSeed, call

#: The right half of S1 (街道一) is free: M1 covers [120.0, 120.1] × [30.0, 30.2].
FREE = square(120.12, 30.05, 120.18, 30.15)
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[120.12, 30.05], [120.18, 30.15], [120.18, 30.05], [120.12, 30.15],
                     [120.12, 30.05]]],
}  # fmt: skip
WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        FREE["coordinates"][0],
        [[120.14, 30.08], [120.16, 30.08], [120.16, 30.12], [120.14, 30.12], [120.14, 30.08]],
    ],
}


def message(body: Any) -> str:
    return str(body["error"]["message"])


async def test_create_redraw_and_move(client: TestClient, web_seed: WebSeed) -> None:
    s, a = web_seed, web_seed.world.areas
    made = await call(
        client, "POST", "/api/v1/grid/areas", s, "officer", status=201,
        json={"code": "M3", "name": "社区三", "level": 4, "parent_id": a["S1"], "boundary": FREE},
    )  # fmt: skip
    detail = await call(client, "GET", f"/api/v1/grid/areas/{made['id']}", s, "officer")
    assert "社区三" in str(detail)
    areas = await call(client, "GET", f"/api/v1/grid/areas?parent={a['S1']}&boundary=1", s, "admin")
    mine = next(x for x in areas if x["code"] == "M3")
    assert mine["boundary"] == FREE
    assert mine["centroid_lat"] == pytest.approx(30.1, abs=0.05)
    # a grid without a boundary under M3, moved to M1 (same level) and renamed
    g = await call(
        client, "POST", "/api/v1/grid/areas", s, "admin", status=201,
        json={"code": "G9", "name": "网格九", "level": 5, "parent_id": made["id"]},
    )  # fmt: skip
    await call(
        client, "PATCH", f"/api/v1/grid/areas/{g['id']}", s, "officer",
        json={"parent_id": a["M1"], "name": "网格九（迁）"},
    )  # fmt: skip
    moved = await call(client, "GET", f"/api/v1/grid/areas?parent={a['M1']}", s, "admin")
    assert "网格九（迁）" in [x["name"] for x in moved]
    # redraw M3 smaller: still inside S1
    smaller = square(120.13, 30.06, 120.17, 30.14)
    await call(client, "PATCH", f"/api/v1/grid/areas/{made['id']}", s, "officer",
               json={"boundary": smaller})  # fmt: skip
    areas = await call(client, "GET", f"/api/v1/grid/areas?parent={a['S1']}&boundary=1", s, "admin")
    assert next(x for x in areas if x["code"] == "M3")["boundary"] == smaller
    # a level mismatch on a move
    body = await call(client, "PATCH", f"/api/v1/grid/areas/{g['id']}", s, "officer",
                      json={"parent_id": a["S1"]}, status=400)  # fmt: skip
    assert "新的上级须为第 4 级" in message(body)
    body = await call(
        client, "POST", "/api/v1/grid/areas", s, "officer", status=400,
        json={"code": "M3", "name": "重复", "level": 4, "parent_id": a["S1"]},
    )  # fmt: skip
    assert "区域编码 M3 已存在" in message(body)


@pytest.mark.parametrize(
    ("level", "parent", "boundary", "expected"),
    [
        (4, "S1", BOW_TIE, "边线自相交（经度 120.15，纬度 30.1 附近）"),
        (4, "S1", WITH_HOLE, "边界含有 1 个空洞"),
        (5, "M1", square(120.05, 30.05, 120.08, 30.08), "与同级区域 网格一（G1）重叠"),
        (5, "M1", square(120.08, 30.02, 120.15, 30.04), "超出上级 社区一（M1）的边界"),
        (4, "S1", {"type": "Point", "coordinates": [120.1, 30.1]}, "须为 Polygon 或 MultiPolygon"),
    ],
    ids=["self-intersection", "hole", "sibling-overlap", "outside-parent", "not-a-polygon"],
)
async def test_create_refused(
    client: TestClient, web_seed: WebSeed, level: int, parent: str, boundary: Any, expected: str
) -> None:
    s, a = web_seed, web_seed.world.areas
    body = await call(
        client, "POST", "/api/v1/grid/areas", s, "officer", status=400,
        json={"code": "NEW", "name": "新区域", "level": level, "parent_id": a[parent],
              "boundary": boundary},
    )  # fmt: skip
    assert expected in message(body)
    assert await call(client, "GET", "/api/v1/grid/areas?level=5", s, "admin") is not None
    codes = [x["code"] for x in await call(client, "GET", "/api/v1/grid/areas", s, "admin")]
    assert "NEW" not in codes


async def test_redraw_refused(client: TestClient, web_seed: WebSeed) -> None:
    s, a = web_seed, web_seed.world.areas
    # M1 shrunk to its lower half leaves G2 (网格二) outside
    body = await call(client, "PATCH", f"/api/v1/grid/areas/{a['M1']}", s, "officer",
                      json={"boundary": square(120.0, 30.0, 120.1, 30.1)}, status=400)  # fmt: skip
    assert "下级区域 网格二（G2）有 100.0% 的面积落在新边界之外" in message(body)
    # G1 grown into G2
    body = await call(client, "PATCH", f"/api/v1/grid/areas/{a['G1']}", s, "officer",
                      json={"boundary": square(120.0, 30.0, 120.1, 30.15)}, status=400)  # fmt: skip
    assert "与同级区域 网格二（G2）重叠" in message(body)
    # G3 moved under M1: outside it
    body = await call(client, "PATCH", f"/api/v1/grid/areas/{a['G3']}", s, "officer",
                      json={"parent_id": a["M1"]}, status=400)  # fmt: skip
    assert "超出上级 社区一（M1）的边界" in message(body)
    areas = await call(client, "GET", f"/api/v1/grid/areas?parent={a['M1']}&boundary=1", s, "admin")
    assert {x["code"]: x["boundary"] for x in areas} == {
        "G1": square(120.0, 30.0, 120.1, 30.1),
        "G2": square(120.0, 30.1, 120.1, 30.2),
    }


@pytest.mark.parametrize("user", ["viewer", "member", "head", "handler"])
async def test_roles_without_grid_write_are_refused(
    client: TestClient, web_seed: WebSeed, user: str
) -> None:
    s, a = web_seed, web_seed.world.areas
    await call(
        client, "POST", "/api/v1/grid/areas", s, user, status=403,
        json={"code": "X", "name": "x", "level": 4, "parent_id": a["S1"], "boundary": FREE},
    )  # fmt: skip
    await call(client, "PATCH", f"/api/v1/grid/areas/{a['G1']}", s, user, status=403,
               json={"name": "改名"})  # fmt: skip
    await call(client, "PUT", "/api/v1/patrol/check-items", s, user, status=403,
               json={"st": "22", "code": "x", "label": "x"})  # fmt: skip
    for page in ("/grid/edit", "/grid/people"):
        resp = await client.get(page, headers=s.auth(user))
        assert resp.status == 403, page
    names = [x["name"] for x in await call(client, "GET", "/api/v1/grid/areas", s, "admin")]
    assert "改名" not in names and "x" not in names


async def test_scoped_officer_edits_only_in_scope(client: TestClient, web_seed: WebSeed) -> None:
    s, a = web_seed, web_seed.world.areas
    await call(client, "PATCH", f"/api/v1/grid/areas/{a['G1']}", s, "d2", status=403,
               json={"name": "越权"})  # fmt: skip
    await call(
        client, "POST", "/api/v1/grid/areas", s, "d2", status=403,
        json={"code": "X1", "name": "x", "level": 5, "parent_id": a["M1"]},
    )  # fmt: skip
    await call(client, "POST", "/api/v1/grid/areas", s, "d2", status=403,
               json={"code": "X2", "name": "新城", "level": 1})  # fmt: skip
    await call(client, "PATCH", f"/api/v1/grid/areas/{a['G3']}", s, "d2", status=403,
               json={"parent_id": a["M1"]})  # fmt: skip
    await call(client, "PATCH", f"/api/v1/grid/areas/{a['G3']}", s, "d2",
               json={"name": "网格三（改）"})  # fmt: skip


async def test_check_items(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    put = "/api/v1/patrol/check-items"
    await call(client, "PUT", put, s, "officer",
               json={"st": "39", "code": "fence", "label": "围挡完整", "position": 5})  # fmt: skip
    await call(client, "PUT", put, s, "officer",
               json={"st": "39", "code": "fence", "label": "围挡完整、裸土覆盖"})  # fmt: skip
    items = await call(client, "GET", "/api/v1/patrol/check-items?st=39", s, "member")
    assert [(i["code"], i["label"]) for i in items if i["st"] == "39"] == [
        ("fence", "围挡完整、裸土覆盖")
    ]
    await call(client, "PUT", put, s, "officer",
               json={"st": "39", "code": "fence", "label": "围挡", "active": False})  # fmt: skip
    items = await call(client, "GET", "/api/v1/patrol/check-items?st=39", s, "member")
    assert [i for i in items if i["st"] == "39"] == []
    body = await call(client, "PUT", put, s, "officer", status=400,
                      json={"st": "abc", "code": "x", "label": "x"})  # fmt: skip
    assert "两位系统编码" in message(body)
