"""GeoJSON FeatureCollection import/export of the area hierarchy.

Theory of operation
-------------------
A file holds one Feature per area: ``geometry`` a Polygon/MultiPolygon (WGS 84,
``[lon, lat]``), ``properties`` with ``code`` (unique), ``name``, ``level`` (1 city … 5
grid) and ``parent_code`` (required below level 1; the parent may be in the file or
already in the database).  Any other property is kept in ``areas.attrs``.

:func:`plan_import` is pure: it validates everything first — geometry (shapely validity
with the reason), levels (a parent is exactly one level up), duplicates, unknown parents —
and collects *errors* (nothing is written if there is any) and *warnings* (written
anyway): a child polygon that sticks out of its parent by more than
:data:`CONTAINMENT_TOLERANCE` of its area, an area without a boundary.
:func:`import_areas` then upserts by ``code`` in one transaction, parents first.
:func:`export_areas` writes the same format back (round trip: export → import changes
nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import asyncpg
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from web.casework.grid import queries as q
from web.casework.grid.geo import GeoError, parse_polygon
from web.casework.kernel.errors import GeoJSONImportError

__all__ = [
    "CONTAINMENT_TOLERANCE",
    "AreaFeature",
    "ExistingArea",
    "ImportPlan",
    "ImportReport",
    "export_areas",
    "import_areas",
    "plan_import",
]

#: Share of a child's area allowed outside its parent before a warning.
CONTAINMENT_TOLERANCE: Final = 0.01
_RESERVED: Final = frozenset({"code", "name", "level", "parent_code", "level_name"})
MAX_FEATURES: Final = 100_000


@dataclass(frozen=True, slots=True)
class AreaFeature:
    code: str
    name: str
    level: int
    parent_code: str | None
    geometry: dict[str, Any] | None
    centroid: tuple[float, float] | None  # (lat, lon)
    attrs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExistingArea:
    level: int
    geometry: BaseGeometry | None


@dataclass(frozen=True, slots=True)
class ImportPlan:
    features: tuple[AreaFeature, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


def plan_import(
    document: Mapping[str, Any],
    existing: Mapping[str, ExistingArea],
    level_names: Sequence[str] = ("市", "区县", "街道(乡镇)", "社区(村)", "网格"),
) -> ImportPlan:
    """Validate a FeatureCollection against the areas already stored (by code)."""
    errors: list[str] = []
    warnings: list[str] = []
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        return ImportPlan((), ("文件须为 GeoJSON FeatureCollection",), ())
    raw_features = document.get("features")
    if not isinstance(raw_features, list) or not raw_features:
        return ImportPlan((), ("FeatureCollection 中没有要素（features 为空）",), ())
    if len(raw_features) > MAX_FEATURES:
        return ImportPlan((), (f"要素过多（{len(raw_features)}），单次最多 {MAX_FEATURES}",), ())
    features: list[AreaFeature] = []
    shapes: dict[str, BaseGeometry | None] = {}
    levels: dict[str, int] = {}
    for number, raw in enumerate(raw_features, 1):
        where = f"第 {number} 个要素"
        if not isinstance(raw, Mapping) or raw.get("type") != "Feature":
            errors.append(f"{where}不是 Feature")
            continue
        props = raw.get("properties") or {}
        if not isinstance(props, Mapping):
            errors.append(f"{where}的 properties 须为对象")
            continue
        code = _text(props.get("code"))
        where = f"{where}（code={code or '?'}）"
        name = _text(props.get("name"))
        if not code:
            errors.append(f"{where}缺少 code（区域编码）")
            continue
        if code in levels:
            errors.append(f"{where}：编码 {code} 在文件中重复")
            continue
        if not name:
            errors.append(f"{where}缺少 name（名称）")
        try:
            level = int(props.get("level"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors.append(f"{where}：level 须为 1–5 的整数（收到 {props.get('level')!r}）")
            continue
        if not 1 <= level <= 5:
            errors.append(f"{where}：level 须为 1–5（收到 {level}）")
            continue
        parent_code = _text(props.get("parent_code")) or None
        geometry = raw.get("geometry")
        geom: BaseGeometry | None = None
        centroid = None
        if geometry is None:
            warnings.append(f"{where}没有边界，无法按位置归属")
        else:
            try:
                geom = parse_polygon(geometry, f"{where}的边界")
            except GeoError as exc:
                errors.append(str(exc))
            else:
                point = geom.representative_point()
                centroid = (point.y, point.x)
        attrs = {k: v for k, v in props.items() if k not in _RESERVED}
        levels[code] = level
        shapes[code] = geom
        features.append(
            AreaFeature(
                code,
                name,
                level,
                parent_code,
                dict(mapping(geom)) if geom is not None else None,
                centroid,
                attrs,
            )
        )
    for f in features:
        where = f"区域 {f.code}（{f.name}）"
        if f.parent_code is None:
            if f.level != 1:
                errors.append(
                    f"{where}为第 {f.level} 级（{level_names[f.level - 1]}），须指定 parent_code"
                )
            continue
        if f.parent_code == f.code:
            errors.append(f"{where}的上级不能是自己")
            continue
        if f.parent_code in levels:
            parent_level = levels[f.parent_code]
            parent_geom = shapes.get(f.parent_code)
        elif f.parent_code in existing:
            parent_level = existing[f.parent_code].level
            parent_geom = existing[f.parent_code].geometry
        else:
            errors.append(f"{where}的上级 {f.parent_code} 既不在文件中也不在系统中")
            continue
        if parent_level != f.level - 1:
            errors.append(
                f"{where}为第 {f.level} 级，其上级 {f.parent_code} 须为第 {f.level - 1} 级"
                f"（{level_names[f.level - 2]}），实为第 {parent_level} 级"
            )
            continue
        child_geom = shapes.get(f.code)
        if child_geom is not None and parent_geom is not None and child_geom.area > 0:
            outside = child_geom.difference(parent_geom).area / child_geom.area
            if outside > CONTAINMENT_TOLERANCE:
                warnings.append(f"{where}有 {outside:.1%} 的面积超出上级 {f.parent_code} 的边界")
    features.sort(key=lambda f: (f.level, f.code))
    return ImportPlan(tuple(features), tuple(errors), tuple(warnings))


async def import_areas(
    conn: asyncpg.Connection,
    document: Mapping[str, Any],
    level_names: Sequence[str] = ("市", "区县", "街道(乡镇)", "社区(村)", "网格"),
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validate and upsert a FeatureCollection; raises :class:`GeoJSONImportError`.
    ``progress(done, total)`` is called as the areas are written."""
    raw = document.get("features") if isinstance(document, Mapping) else None
    codes = sorted(
        {
            _text(p.get("parent_code"))
            for f in raw or []
            if isinstance(f, Mapping) and isinstance(p := f.get("properties"), Mapping)
        }
        | {
            _text(p.get("code"))
            for f in raw or []
            if isinstance(f, Mapping) and isinstance(p := f.get("properties"), Mapping)
        }
        - {""}
    )
    existing: dict[str, ExistingArea] = {}
    ids: dict[str, int] = {}
    for r in await q.existing_areas(conn, codes):
        geom = None
        if r["boundary"] is not None:
            try:
                geom = parse_polygon(r["boundary"])
            except GeoError:
                geom = None
        existing[r["code"]] = ExistingArea(r["level"], geom)
        ids[r["code"]] = r["id"]
    plan = plan_import(document, existing, level_names)
    if plan.errors:
        raise GeoJSONImportError(plan.errors)
    created = updated = 0
    async with conn.transaction():
        for f in plan.features:
            parent_id = ids[f.parent_code] if f.parent_code else None
            lat, lon = f.centroid if f.centroid else (None, None)
            row = await q.upsert_area(
                conn, f.code, f.name, f.level, parent_id, f.geometry, lat, lon, f.attrs
            )
            ids[f.code] = row["id"]
            if row["inserted"]:
                created += 1
            else:
                updated += 1
            if progress is not None:
                progress(created + updated, len(plan.features))
    return ImportReport(created, updated, plan.warnings)


async def export_areas(
    conn: asyncpg.Connection,
    area_ids: Iterable[int] | None = None,
    level_names: Sequence[str] = ("市", "区县", "街道(乡镇)", "社区(村)", "网格"),
) -> dict[str, Any]:
    """The areas (all, or ``area_ids`` — e.g. a scope) as a FeatureCollection."""
    ids = sorted(set(area_ids)) if area_ids is not None else None
    features = []
    for r in await q.export_areas(conn, ids):
        props: dict[str, Any] = dict(r["attrs"] or {})
        props.update(
            code=r["code"],
            name=r["name"],
            level=r["level"],
            level_name=level_names[r["level"] - 1],
            parent_code=r["parent_code"],
        )
        features.append({"type": "Feature", "geometry": r["boundary"], "properties": props})
    return {"type": "FeatureCollection", "features": features}
