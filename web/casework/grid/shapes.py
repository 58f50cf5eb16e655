"""Checks of an area boundary drawn or edited in the dashboard (pure, shapely).

A boundary saved through the area editor must be a valid polygon without holes, lie
within its parent, not overlap its siblings, and still hold its own children.  The
import (:mod:`web.casework.grid.geojson`) keeps its looser rules (holes allowed, a child
sticking out is a warning) because real survey files carry them; drawn areas are held to
these.  Shared borders are fine: only overlapping *area* counts, above
:data:`OVERLAP_TOLERANCE` of the smaller polygon (snapping in the browser is exact, hand
drawing is not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = ["OVERLAP_TOLERANCE", "Neighbour", "boundary_problems", "hole_count"]

#: Share of a polygon's area that may overlap a sibling or stick out of the parent.
OVERLAP_TOLERANCE: Final = 0.001


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An area next to the one being checked (its parent, a sibling or a child)."""

    code: str
    name: str
    geom: BaseGeometry

    @property
    def label(self) -> str:
        return f"{self.name}（{self.code}）"


def hole_count(geom: BaseGeometry) -> int:
    """Interior rings of a Polygon / MultiPolygon."""
    if isinstance(geom, Polygon):
        return len(geom.interiors)
    if isinstance(geom, MultiPolygon):
        return sum(len(part.interiors) for part in geom.geoms)
    return 0


def _share(part: BaseGeometry, whole: BaseGeometry) -> float:
    return part.area / whole.area if whole.area > 0 else 0.0


def boundary_problems(
    geom: BaseGeometry,
    *,
    parent: Neighbour | None = None,
    siblings: Iterable[Neighbour] = (),
    children: Iterable[Neighbour] = (),
) -> list[str]:
    """Every reason (Chinese) why ``geom`` cannot be saved; empty when it can."""
    problems: list[str] = []
    holes = hole_count(geom)
    if holes:
        problems.append(
            f"边界含有 {holes} 个空洞（内环）；区域边界须为不带洞的多边形，挖去的部分请另建区域"
        )
    if parent is not None:
        outside = _share(geom.difference(parent.geom), geom)
        if outside > OVERLAP_TOLERANCE:
            problems.append(f"有 {outside:.1%} 的面积超出上级 {parent.label}的边界")
    for sibling in siblings:
        overlap = geom.intersection(sibling.geom)
        share = max(_share(overlap, geom), _share(overlap, sibling.geom))
        if share > OVERLAP_TOLERANCE:
            problems.append(f"与同级区域 {sibling.label}重叠（重叠部分占 {share:.1%}）")
    for child in children:
        outside = _share(child.geom.difference(geom), child.geom)
        if outside > OVERLAP_TOLERANCE:
            problems.append(f"下级区域 {child.label}有 {outside:.1%} 的面积落在新边界之外")
    return problems
