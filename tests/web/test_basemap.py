"""The base map: settings → what the pages draw (presets, the operator's tile server,
MBTiles, offline), the CSP tile sources, the MBTiles route (real SQLite files, caching,
path traversal refused) and the boundary GeoJSON route."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from envgrid.settings import load_settings
from store.config import settings_as_dict
from store.validation import ConfigError
from tests.web.conftest import make_web_settings
from web.app import create_app
from web.map import basemap
from web.map.tiles import tile_file
from web.middleware import csp_for
from web.responses import ApiError

Client = TestClient[Any, Any]
TOKEN = "0123456789abcdef0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + b"tile-bytes"


def web(**values: Any) -> Any:
    return load_settings(None, {}, {f"web.{k}": v for k, v in values.items()}, discover=False).web


def make_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], fmt: str = "png") -> Path:
    """An MBTiles file with ``tiles`` at XYZ (z, x, y) (stored with TMS rows)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute(
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
        " tile_data BLOB)"
    )
    db.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", path.stem), ("format", fmt)])
    db.executemany(
        "INSERT INTO tiles VALUES (?, ?, ?, ?)",
        [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()],
    )
    db.commit()
    db.close()
    return path


RESOLVE_CASES = [
    # (settings, kind, source, crs, first layer url or provider, CSP sources)
    ({}, "offline", "offline", "wgs84", None, ()),
    (
        {"tile_url": "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"},
        "tiles", "url", "wgs84", "https://{s}.tiles.example.cn/{z}/{x}/{y}.png",
        ("https://*.tiles.example.cn",),
    ),
    (
        {"basemap": "url", "tile_url": "http://10.0.0.5:8000/{z}/{x}/{y}.png", "tile_crs": "gcj02"},
        "tiles", "url", "gcj02", "http://10.0.0.5:8000/{z}/{x}/{y}.png", ("http://10.0.0.5:8000",),
    ),
    (
        {"basemap": "tianditu-vec", "basemap_token": TOKEN},
        "tiles", "tianditu-vec", "wgs84",
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        f"&TILECOL={{x}}&tk={TOKEN}",
        ("https://*.tianditu.gov.cn",),
    ),
    ({"basemap": "gaode-vec"}, "tiles", "gaode-vec", "gcj02", "GaoDe.Normal.Map",
     ("*.is.autonavi.com",)),
    ({"basemap": "offline", "tile_url": "https://t.example/{z}/{x}/{y}.png"},
     "offline", "offline", "wgs84", None, ()),
]  # fmt: skip


@pytest.mark.parametrize(("values", "kind", "source", "crs", "first", "csp"), RESOLVE_CASES)
def test_resolve(
    values: dict[str, Any], kind: str, source: str, crs: str, first: str | None, csp: tuple[str]
) -> None:
    s = web(**values)
    config = basemap.page_config(s)
    assert (config["kind"], config["source"], config["crs"]) == (kind, source, crs)
    layer = config["layers"][0] if config["layers"] else {}
    assert layer.get("url", layer.get("provider")) == first
    assert basemap.csp_sources(s) == csp
    assert config["boundaries"] == "/basemap/boundaries.geojson"
    assert config["counties"] == "/basemap/counties/"


def test_the_operator_boundaries_replace_the_default_counties(tmp_path: Path) -> None:
    own = tmp_path / "city.geojson"
    own.write_text('{"type": "FeatureCollection", "features": []}')
    config = basemap.page_config(web(boundary_geojson=str(own)))
    assert config["kind"] == "offline" and config["counties"] == ""  # counties are in own


def test_presets_with_annotation_and_hosts() -> None:
    for name in ("tianditu-vec", "tianditu-img", "gaode-img"):
        assert len(basemap.PRESETS[name]["layers"]) == 2, name  # map + annotation
    for name, preset in basemap.PRESETS.items():
        assert preset["crs"] in ("wgs84", "gcj02") and preset["hosts"], name
        assert preset["label"] and preset["attribution"], name


def test_mbtiles_sources(tmp_path: Path) -> None:
    assert basemap.page_config(web(mbtiles_dir=str(tmp_path)))["kind"] == "offline"
    make_mbtiles(tmp_path / "zhejiang.mbtiles", {})
    make_mbtiles(tmp_path / "city.mbtiles", {})
    (tmp_path / "notes.txt").write_text("x")
    assert basemap.list_mbtiles(str(tmp_path)) == ["city", "zhejiang"]
    auto = basemap.page_config(web(mbtiles_dir=str(tmp_path)))
    assert auto["source"] == "mbtiles" and auto["layers"][0]["url"] == "/tiles/city/{z}/{x}/{y}"
    named = web(basemap="mbtiles", mbtiles_dir=str(tmp_path), mbtiles_name="zhejiang")
    assert basemap.page_config(named)["layers"][0]["url"] == "/tiles/zhejiang/{z}/{x}/{y}"
    assert basemap.csp_sources(named) == ()  # served by envgrid: 'self'
    missing = web(basemap="mbtiles", mbtiles_dir=str(tmp_path), mbtiles_name="gone")
    assert basemap.page_config(missing)["kind"] == "offline"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"basemap": "google"}, "web.basemap must be one of auto, url, mbtiles, offline"),
        ({"basemap": "tianditu-img"}, "needs the operator's key: set web.basemap_token"),
        ({"basemap": "tianditu-vec", "basemap_token": "abc"}, "8..64 letters and digits"),
        ({"basemap": "url"}, "web.basemap = 'url' needs web.tile_url"),
        ({"basemap": "mbtiles"}, "needs web.mbtiles_dir"),
        ({"tile_crs": "bd09"}, "web.tile_crs"),
        ({"tile_max_zoom": 30}, "web.tile_max_zoom must be 1..22"),
        ({"mbtiles_name": "../etc/passwd"}, "web.mbtiles_name must be a file name"),
        ({"mbtiles_dir": "/nonexistent/tiles"}, "is not a directory"),
        ({"boundary_geojson": "/nonexistent/b.geojson"}, "is not a file"),
        ({"tile_url": "https://t.example/tiles.png"}, "must contain {z}, {x} and {y}"),
    ],
)
def test_bad_settings(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        web(**values)
    assert message in str(err.value)
    assert TOKEN not in str(err.value)


def test_token_masked_in_config_show() -> None:
    settings = load_settings(
        None, {}, {"web.basemap": "tianditu-vec", "web.basemap_token": TOKEN}, discover=False
    )
    shown = json.dumps(settings_as_dict(settings, redact=True), ensure_ascii=False)
    assert TOKEN not in shown and '"basemap": "tianditu-vec"' in shown


def test_csp_admits_the_tile_hosts() -> None:
    policy = csp_for(("https://*.tianditu.gov.cn",), ())
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn;" in policy
    assert "connect-src 'self';" in policy


@pytest.fixture
async def tiles_client(
    aiohttp_client: Callable[..., Any], db_dsn: str, pg_reachable_tmp: Path
) -> Client:
    tiles = pg_reachable_tmp / "tiles"
    tiles.mkdir()
    make_mbtiles(tiles / "city.mbtiles", {(0, 0, 0): PNG, (3, 6, 2): PNG + b"-3-6-2"})
    make_mbtiles(tiles / "roads.mbtiles", {(0, 0, 0): b"\x1a\x02pbf"}, fmt="pbf")
    (tiles / "broken.mbtiles").write_bytes(b"not a database" * 100)
    (pg_reachable_tmp / "outside.mbtiles").write_bytes(
        (tiles / "city.mbtiles").read_bytes()
    )  # a readable file beside the directory: must not be reachable
    settings = make_web_settings(
        db_dsn, pg_reachable_tmp, basemap="mbtiles", mbtiles_dir=str(tiles)
    )
    client: Client = await aiohttp_client(create_app(settings, db_dsn, background=False))
    return client


async def test_mbtiles_route(tiles_client: Client) -> None:
    c = tiles_client
    resp = await c.get("/tiles/city/3/6/2")  # no log-in: the public complaint form has a map
    assert resp.status == 200 and resp.content_type == "image/png"
    assert await resp.read() == PNG + b"-3-6-2"  # XYZ y=2 is TMS row 5
    assert resp.headers["Cache-Control"] == "public, max-age=86400"
    etag = resp.headers["ETag"]
    again = await c.get("/tiles/city/3/6/2", headers={"If-None-Match": etag})
    assert again.status == 304 and not await again.read()
    assert (await c.get("/tiles/city/0/0/0")).status == 200
    missing = await c.get("/tiles/city/3/1/1")
    assert missing.status == 404 and not await missing.read()
    assert (await c.get("/tiles/city/3/8/0")).status == 400  # x beyond 2**3 - 1
    assert (await c.get("/tiles/nope/0/0/0")).status == 404
    vector = await c.get("/tiles/roads/0/0/0")
    assert vector.status == 415 and "矢量瓦片" in await vector.text()
    broken = await c.get("/tiles/broken/0/0/0")
    assert broken.status == 500 and "离线瓦片文件无法读取" in await broken.text()
    # names that would leave the directory (an encoded "/" is not even routed here)
    for name in (".hidden", "city%00", "..outside"):
        refused = await c.get(f"/tiles/{name}/0/0/0", allow_redirects=False)
        assert refused.status in (400, 404), (name, refused.status)
        assert PNG not in await refused.read()


@pytest.mark.parametrize(
    "name", ["../outside", "..", ".hidden", "a/b", "..\\outside", "city\x00", "/etc/passwd", ""]
)
def test_tile_file_stays_in_the_directory(tmp_path: Path, name: str) -> None:
    (tmp_path / "tiles").mkdir()
    make_mbtiles(tmp_path / "outside.mbtiles", {(0, 0, 0): PNG})
    with pytest.raises(ApiError) as err:
        tile_file(str(tmp_path / "tiles"), name)
    assert err.value.status in (400, 404)


async def test_boundaries_route(tiles_client: Client) -> None:
    if not basemap.DEFAULT_BOUNDARIES.is_file():
        pytest.skip(
            "front-end libraries missing: cd web/frontend && npm ci && node copy-vendor.mjs"
        )
    resp = await tiles_client.get("/basemap/boundaries.geojson")
    assert resp.status == 200 and resp.content_type == "application/geo+json"
    doc = json.loads(await resp.read())
    names = {f["properties"]["name"] for f in doc["features"]}
    assert {"北京", "浙江", "新疆", "台湾", "海南"} <= names and len(names) == 34
    assert "max-age" in resp.headers["Cache-Control"]
    again = await tiles_client.get(
        "/basemap/boundaries.geojson", headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status == 304


async def test_county_files_are_public_and_served_from_memory(tiles_client: Client) -> None:
    if not (basemap.DEFAULT_COUNTIES / "index.json").is_file():
        pytest.skip("front-end files missing: cd web/frontend && npm ci && node copy-vendor.mjs")
    resp = await tiles_client.get(f"{basemap.COUNTIES_PATH}33.geojson")  # no log-in
    assert resp.status == 200 and resp.headers.get("Content-Encoding") == "gzip"
    doc = json.loads(await resp.read())
    assert "西湖区" in {f["properties"]["name"] for f in doc["features"]}
    again = await tiles_client.get(
        f"{basemap.COUNTIES_PATH}33.geojson", headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status == 304
    plain = await tiles_client.get(
        f"{basemap.COUNTIES_PATH}33.geojson", headers={"Accept-Encoding": "identity"}
    )
    assert plain.status == 200 and "Content-Encoding" not in plain.headers
    assert json.loads(await plain.read()) == doc
    index = await tiles_client.get(f"{basemap.COUNTIES_PATH}index.json")
    assert index.status == 200 and "33" in await index.json()
    for name in ("99.geojson", "../index.json", "33.geojson.gz", "LICENSE", "3.geojson"):
        refused = await tiles_client.get(f"{basemap.COUNTIES_PATH}{name}")
        assert refused.status == 404, name


async def test_boundaries_route_refuses_a_file_that_is_not_a_feature_collection(
    aiohttp_client: Callable[..., Any], db_dsn: str, pg_reachable_tmp: Path
) -> None:
    bad = pg_reachable_tmp / "bad.geojson"
    bad.write_text('{"type": "Point", "coordinates": [1, 2]}')
    settings = make_web_settings(db_dsn, pg_reachable_tmp, boundary_geojson=str(bad))
    client = await aiohttp_client(create_app(settings, db_dsn, background=False))
    resp = await client.get("/basemap/boundaries.geojson")
    assert resp.status == 500
    text = await resp.text()
    assert "边界文件不是有效的 GeoJSON FeatureCollection" in text and str(bad) not in text
