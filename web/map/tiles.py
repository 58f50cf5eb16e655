"""Base-map files envgrid serves itself: MBTiles tiles (``/tiles/NAME/{z}/{x}/{y}``) from
``web.mbtiles_dir`` and the boundary GeoJSON of the offline base map (provinces, and
the default counties one province a file: ``/basemap/counties/NN.geojson``).

MBTiles (https://github.com/mapbox/mbtiles-spec, 1.3) is one SQLite file: ``tiles``
(zoom_level, tile_column, tile_row, tile_data) with TMS rows (y counted from the south,
so ``row = 2**z - 1 - y``) and ``metadata`` (name, value; ``format`` png/jpg/webp/pbf).
It is read with the stdlib's sqlite3, read-only, in a worker thread.  Names are checked
against :data:`web.map.basemap.MBTILES_NAME` and the file must lie in the directory:
no path leaves it.  Boundary files are answered from memory (read once per version in a
worker thread, gzip-compressed when the browser takes it): no open file is left behind
when a browser leaves the page mid-download.  Tiles are public (the public complaint form
has a map too) and cached by browsers: ``Cache-Control``, an ``ETag`` from the file's
mtime, 304 answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Final

from aiohttp import web

from web import context
from web.map.basemap import DEFAULT_BOUNDARIES, DEFAULT_COUNTIES, MBTILES_NAME
from web.responses import ApiError

__all__ = ["VectorTilesError", "boundaries", "counties", "read_tile", "tile", "tile_file"]

log = logging.getLogger(__name__)

_TYPES: Final = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
#: Browsers keep a tile this long (seconds); a replaced file changes the ETag.
TILE_MAX_AGE: Final = 86400
BOUNDARY_MAX_AGE: Final = 3600
MAX_ZOOM: Final = 24


class VectorTilesError(ValueError):
    """The MBTiles file holds vector tiles (pbf): Leaflet cannot draw them as a base map."""


def read_tile(path: Path, z: int, x: int, y: int) -> tuple[bytes, str] | None:
    """The tile (data, content type) at XYZ ``z/x/y`` of the MBTiles file, or None;
    :class:`VectorTilesError` for a file of vector tiles."""
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        fmt = db.execute("SELECT value FROM metadata WHERE name = 'format'").fetchone()
        declared = str(fmt[0]).lower() if fmt else ""
        if declared == "pbf":
            raise VectorTilesError(f"{path.name}: vector tiles (format pbf)")
        row = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, (1 << z) - 1 - y),
        ).fetchone()
    finally:
        db.close()
    if row is None:
        return None
    data = bytes(row[0])
    return data, _TYPES.get(declared) or _sniff(data)


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def tile_file(directory: str, name: str) -> Path:
    """The MBTiles file ``name`` of ``directory``; a name that is not a plain file name, or
    a file that is not (directly) in the directory, is refused."""
    if not directory:
        raise ApiError(404, "not_found", "未配置离线瓦片目录（web.mbtiles_dir）")
    if MBTILES_NAME.fullmatch(name) is None:
        raise ApiError(400, "bad_name", "瓦片集名称只能含字母、数字、_ . -")
    base = Path(directory).resolve()
    path = (base / f"{name}.mbtiles").resolve()
    if path.parent != base or not path.is_file():
        raise ApiError(404, "not_found", f"没有瓦片集 {name}")
    return path


async def tile(request: web.Request) -> web.StreamResponse:
    """One tile of an MBTiles file of ``web.mbtiles_dir``."""
    settings = context.settings(request).web
    path = tile_file(settings.mbtiles_dir, request.match_info["name"])
    z, x, y = (int(request.match_info[k]) for k in ("z", "x", "y"))
    if z > MAX_ZOOM or x >= 1 << z or y >= 1 << z:
        raise ApiError(400, "bad_tile", f"瓦片坐标超出范围：{z}/{x}/{y}")
    stat = path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}-{z}-{x}-{y}"'
    headers = {"Cache-Control": f"public, max-age={TILE_MAX_AGE}", "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    try:
        found = await asyncio.to_thread(read_tile, path, z, x, y)
    except VectorTilesError as exc:
        log.warning("MBTiles file %s: %s", path, exc)
        raise ApiError(
            415, "vector_tiles", "该 MBTiles 为矢量瓦片（pbf），底图需要栅格瓦片（png/jpg/webp）"
        ) from exc
    except sqlite3.Error as exc:
        log.warning("MBTiles file %s cannot be read: %s", path, exc)
        raise ApiError(500, "mbtiles_unreadable", "离线瓦片文件无法读取（见服务器日志）") from exc
    if found is None:
        return web.Response(status=404, headers=headers)
    data, content_type = found
    return web.Response(body=data, content_type=content_type, headers=headers)


@lru_cache(maxsize=4)
def _checked_geojson(path: Path, mtime_ns: int, size: int) -> bytes:
    """The file's bytes when it is a GeoJSON FeatureCollection (cached per version)."""
    raw = path.read_bytes()
    doc = json.loads(raw)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    if not isinstance(doc.get("features"), list):
        raise ValueError("FeatureCollection without a features list")
    return raw


async def boundaries(request: web.Request) -> web.StreamResponse:
    """The boundary GeoJSON of the offline base map (web.boundary_geojson or the default)."""
    configured = context.settings(request).web.boundary_geojson
    path = Path(configured) if configured else DEFAULT_BOUNDARIES
    try:
        stat = path.stat()
        body = await asyncio.to_thread(_checked_geojson, path, stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError as exc:
        log.warning("boundary GeoJSON %s is missing", path)
        raise ApiError(404, "not_found", "边界文件不存在（web.boundary_geojson）") from exc
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        log.warning("boundary GeoJSON %s is not usable: %s", path, exc)
        raise ApiError(
            500, "boundary_invalid", "边界文件不是有效的 GeoJSON FeatureCollection（见服务器日志）"
        ) from exc
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"Cache-Control": f"public, max-age={BOUNDARY_MAX_AGE}", "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/geo+json", headers=headers)


@lru_cache(maxsize=80)
def _county_file(path: Path, mtime_ns: int, size: int) -> bytes:
    """A default county file's bytes (cached per version: 2 × 35 files, 10 MB at most)."""
    return path.read_bytes()


async def counties(request: web.Request) -> web.StreamResponse:
    """A file of the default county boundaries (``index.json`` or ``NN.geojson``, the name
    checked by the route), the gzip variant when the browser accepts it."""
    name = request.match_info["name"]
    content_type = "application/json" if name == "index.json" else "application/geo+json"
    path = DEFAULT_COUNTIES / name
    gzip = path.with_name(f"{name}.gz")
    use_gzip = "gzip" in request.headers.get("Accept-Encoding", "").lower() and gzip.is_file()
    try:
        stat = (gzip if use_gzip else path).stat()
        body = await asyncio.to_thread(
            _county_file, gzip if use_gzip else path, stat.st_mtime_ns, stat.st_size
        )
    except FileNotFoundError as exc:
        raise ApiError(404, "not_found", "县级边界文件不存在") from exc
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}{"-gz" if use_gzip else ""}"'
    headers = {
        "Cache-Control": f"public, max-age={BOUNDARY_MAX_AGE}",
        "ETag": etag,
        "Vary": "Accept-Encoding",
    }
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, headers=headers)
