"""Routes of the map module: stations on the map, the heat map, areas and regions; the
base-map files envgrid serves itself (public: the complaint form has a map too)."""

from __future__ import annotations

from typing import Final

from web.openapi import AREA, INT, NTIME, OBJ, REGION, ST, STATUS, STR, TIME, Page, Param
from web.openapi import Endpoint as E

from . import handlers, popup, tiles
from .basemap import BOUNDARIES_PATH, COUNTIES_PATH

PAGES: Final[tuple[Page, ...]] = (
    Page("GET", r"/tiles/{name}/{z:\d{1,2}}/{x:\d{1,8}}/{y:\d{1,8}}", tiles.tile, "public", "tile"),
    Page("GET", BOUNDARIES_PATH, tiles.boundaries, "public", "boundaries"),
    Page(
        "GET",
        COUNTIES_PATH + r"{name:(?:index\.json|[0-9]{2}\.geojson)}",
        tiles.counties,
        "public",
        "counties",
    ),
)

API: Final[tuple[E, ...]] = (
    E(
        "GET",
        "/api/v1/map/stations",
        handlers.map_stations,
        "map:read",
        "地图站点（状态与当前 AQI，列式）",
        "地图",
        params=(ST, REGION, AREA, STATUS),
        description=(
            "地图上的站点与当前空气质量：列式结果，`columns` 给出 `rows` 每列的含义（含 AQI、"
            "等级与首要污染物），`legend` 为 AQI 等级图例。\n\n示例：\n\n"
            "```\ncurl -H 'Authorization: Bearer eg_…' \\\n     'https://HOST/api/v1/map/stations?st=22'\n```"
        ),
        response={
            "type": "object",
            "required": ["columns", "rows", "cell_columns", "cells", "cell", "legend"],
            "properties": {
                "columns": {"type": "array", "items": STR},
                "rows": {"type": "array", "items": {"type": "array"}},
                "cell_columns": {"type": "array", "items": STR},
                "cells": {"type": "array", "items": {"type": "array"}},
                "cell": {"type": "array", "items": INT},
                "last_data_at": {"type": "array", "items": INT},
                "legend": {"type": "array"},
                "counts": OBJ,
                "hour": NTIME,
                "unverified": {"type": "array"},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/map/heatmap",
        handlers.heatmap,
        "map:read",
        "热力图（IDW 插值，GeoJSON 网格）",
        "地图",
        params=(
            Param(
                "what",
                {"type": "string", "maxLength": 12},
                description="aqi（默认）或因子编码，如 a34004",
            ),
            Param("hour", TIME, description="小时（默认上一完整小时）"),
            Param("day", {"type": "string", "format": "date"}, description="日期（日 AQI）"),
            Param(
                "cell",
                {"type": "number", "minimum": 0.001, "maximum": 1},
                description="网格边长（度）",
            ),
        ),
        response={
            "type": "object",
            "required": ["type", "features"],
            "properties": {"type": STR, "features": {"type": "array"}, "properties": OBJ},
        },
    ),
    E(
        "GET",
        "/api/v1/map/stations/{id}/values",
        popup.station_values,
        "map:read",
        "地图弹窗：站点各因子的当前值、1 小时值、24 小时均值与日均值",
        "地图",
        description=(
            "`now` 为最新实时值；`h1` 为上一完整小时（`hour`）的小时值；`h24` 为截至该小时的"
            " 24 个有效小时的均值（`n24` 小时）；`day_mean` 为该小时所在本地日的有效小时均值"
            "（`n_day` 小时）。因子给出中文名称与单位。"
        ),
        response={
            "type": "object",
            "required": ["id", "hour", "factors"],
            "properties": {
                "id": INT,
                "hour": TIME,
                "day": {"type": "string", "format": "date"},
                "last_data_time": NTIME,
                "factors": {"type": "array", "items": OBJ},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/areas",
        handlers.list_areas,
        "map:read",
        "区域与网格",
        "地图",
        params=(
            Param("boundary", {"type": "boolean"}, description="包含 GeoJSON 边界"),
            Param("level", {"type": "integer", "minimum": 1, "maximum": 5}),
        ),
        response={"type": "array", "items": OBJ},
    ),
    E(
        "GET",
        "/api/v1/regions",
        handlers.list_regions,
        "map:read",
        "区县列表",
        "地图",
        response={"type": "array", "items": STR},
    ),
)
