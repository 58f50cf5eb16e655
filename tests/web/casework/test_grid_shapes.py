"""Pure checks of a drawn boundary (:mod:`web.casework.grid.shapes`) and the Chinese
validity reasons of :func:`web.casework.grid.geo.validity_reason` — table-driven."""

from __future__ import annotations

import pytest
from shapely.geometry import Polygon, box

from web.casework.grid.geo import validity_reason
from web.casework.grid.shapes import Neighbour, boundary_problems, hole_count

PARENT = Neighbour("M1", "社区一", box(0, 0, 10, 10))
SIBLING = Neighbour("G1", "网格一", box(0, 0, 5, 5))
CHILD = Neighbour("X1", "小区", box(6, 6, 8, 8))
HOLED = Polygon(box(5, 0, 10, 5).exterior.coords, [box(6, 1, 7, 2).exterior.coords])


@pytest.mark.parametrize(
    ("geom", "children", "expected"),
    [
        (box(5, 0, 10, 5), (), []),  # shares G1's border: fine
        (box(5, 5, 10, 10), (CHILD,), []),
        (box(4.999, 0, 10, 5), (), []),  # a sliver under the tolerance
        (box(4, 0, 10, 5), (), ["与同级区域 网格一（G1）重叠（重叠部分占 20.0%）"]),
        (box(5, 0, 12, 5), (), ["有 28.6% 的面积超出上级 社区一（M1）的边界"]),
        (
            HOLED,
            (),
            ["边界含有 1 个空洞（内环）；区域边界须为不带洞的多边形，挖去的部分请另建区域"],
        ),
        (box(5, 5, 7, 10), (CHILD,), ["下级区域 小区（X1）有 50.0% 的面积落在新边界之外"]),
        (
            box(-1, 0, 10, 5),
            (),
            [
                "有 9.1% 的面积超出上级 社区一（M1）的边界",
                "与同级区域 网格一（G1）重叠（重叠部分占 100.0%）",
            ],
        ),
    ],
    ids=[
        "shared-border",
        "holds-child",
        "sliver",
        "overlap",
        "outside",
        "hole",
        "child-out",
        "both",
    ],
)
def test_boundary_problems(
    geom: Polygon, children: tuple[Neighbour, ...], expected: list[str]
) -> None:
    assert boundary_problems(geom, parent=PARENT, siblings=[SIBLING], children=children) == expected


def test_hole_count() -> None:
    assert (hole_count(box(0, 0, 1, 1)), hole_count(HOLED)) == (0, 1)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Self-intersection[120.15 30.1]", "边线自相交（经度 120.15，纬度 30.1 附近）"),
        ("Ring Self-intersection[1 2]", "边线自相交（经度 1，纬度 2 附近）"),
        ("Hole lies outside shell[3 4]", "内环（空洞）位于外边界之外（经度 3，纬度 4 附近）"),
        ("Too few points[0 0]", "顶点太少（至少 3 个不同的点）（经度 0，纬度 0 附近）"),
        ("Something new", "几何无效"),
    ],
)
def test_validity_reason(reason: str, expected: str) -> None:
    assert validity_reason(reason) == expected
