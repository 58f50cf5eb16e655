"""The base map every dashboard map draws under its own layers (web.basemap & co.).

Theory of operation: the settings name a source — a preset of
``basemap_presets.json`` (天地图 with the operator's key; GCJ-02 providers through the
npm package leaflet.chinatmsproviders), the operator's own tile server (``tile_url``),
an MBTiles file that envgrid serves itself (``web.map.tiles``), or nothing, in which
case the map draws province boundaries, and counties when zoomed in, from GeoJSON
files ("offline": the default ones per province, or the operator's one file).
:func:`resolve` turns the settings into a :class:`Basemap`; :func:`page_config` is what
every page's configuration carries for ``web/static/js/basemap.js`` (the one module
that builds the layer), and :func:`csp_sources` the tile hosts the CSP admits.
Coordinates stay WGS-84/CGCS2000 on the server; the browser shifts them for a GCJ-02
layer (and shifts a click back) with gcoord.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import quote, urlsplit

from store.validation import require

__all__ = [
    "BASEMAPS",
    "BOUNDARIES_PATH",
    "COUNTIES_PATH",
    "DEFAULT_BOUNDARIES",
    "DEFAULT_COUNTIES",
    "MBTILES_NAME",
    "PRESETS",
    "Basemap",
    "check_basemap",
    "csp_sources",
    "list_mbtiles",
    "page_config",
    "resolve",
]

PRESETS: Final[dict[str, dict[str, Any]]] = {
    name: preset
    for name, preset in json.loads(
        (Path(__file__).with_name("basemap_presets.json")).read_text("utf-8")
    ).items()
    if not name.startswith("_")
}
BASEMAPS: Final = ("auto", "url", "mbtiles", "offline", *PRESETS)
#: A file name of mbtiles_dir without ".mbtiles" (no path parts, no leading dot).
MBTILES_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_TOKEN: Final = re.compile(r"[A-Za-z0-9]{8,64}")
#: The simplified China provinces (web/frontend/china-provinces.mjs, vendored).
DEFAULT_BOUNDARIES: Final = (
    Path(__file__).resolve().parents[1] / "static/vendor/boundaries/china-provinces.geojson"
)
BOUNDARIES_PATH: Final = "/basemap/boundaries.geojson"
#: The default counties (web/frontend/china-counties.mjs, vendored): ``NN.geojson`` per
#: province (first two digits of the adcode) and ``index.json`` (each file's box).
DEFAULT_COUNTIES: Final = DEFAULT_BOUNDARIES.parent / "counties"
#: Where the browser fetches them (:func:`web.map.tiles.counties`; web.boundary_geojson
#: replaces them).
COUNTIES_PATH: Final = "/basemap/counties/"


class BasemapSettings(Protocol):
    """The base-map fields of ``web.settings.WebSettings``."""

    @property
    def basemap(self) -> str: ...
    @property
    def basemap_token(self) -> str: ...
    @property
    def tile_url(self) -> str: ...
    @property
    def tile_attribution(self) -> str: ...
    @property
    def tile_crs(self) -> str: ...
    @property
    def tile_max_zoom(self) -> int: ...
    @property
    def mbtiles_dir(self) -> str: ...
    @property
    def mbtiles_name(self) -> str: ...
    @property
    def boundary_geojson(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Basemap:
    """What the browser draws: ``kind`` "tiles" (``layers``) or "offline" (boundaries)."""

    kind: str
    source: str
    crs: str = "wgs84"
    layers: tuple[dict[str, Any], ...] = ()
    attribution: str = ""


def check_basemap(s: BasemapSettings) -> None:
    """Settings errors (``store.validation.require``), one clear sentence each."""
    require(
        s.basemap in BASEMAPS,
        f"web.basemap must be one of {', '.join(BASEMAPS)} (got {s.basemap!r})",
    )
    preset = PRESETS.get(s.basemap, {})
    if preset.get("token"):
        require(
            bool(s.basemap_token),
            f"web.basemap = {s.basemap!r} (天地图) needs the operator's key: set"
            " web.basemap_token (apply for one at the 天地图 developer console)",
        )
    if s.basemap_token:
        require(
            _TOKEN.fullmatch(s.basemap_token) is not None,
            "web.basemap_token must be 8..64 letters and digits (a 天地图 key)",
        )
    require(
        s.basemap != "url" or bool(s.tile_url),
        "web.basemap = 'url' needs web.tile_url (the tile server's URL template)",
    )
    require(
        s.basemap != "mbtiles" or bool(s.mbtiles_dir),
        "web.basemap = 'mbtiles' needs web.mbtiles_dir (a directory of .mbtiles files)",
    )
    require(
        s.tile_crs in ("wgs84", "gcj02"), f"web.tile_crs must be wgs84 or gcj02 ({s.tile_crs!r})"
    )
    require(1 <= s.tile_max_zoom <= 22, f"web.tile_max_zoom must be 1..22 (got {s.tile_max_zoom})")
    require(
        not s.mbtiles_name or MBTILES_NAME.fullmatch(s.mbtiles_name) is not None,
        f"web.mbtiles_name must be a file name without .mbtiles (got {s.mbtiles_name!r})",
    )
    if s.mbtiles_dir:
        require(
            Path(s.mbtiles_dir).is_dir(),
            f"web.mbtiles_dir {s.mbtiles_dir!r} is not a directory",
        )
    if s.boundary_geojson:
        require(
            Path(s.boundary_geojson).is_file(),
            f"web.boundary_geojson {s.boundary_geojson!r} is not a file",
        )


def list_mbtiles(directory: str) -> list[str]:
    """The names (without ``.mbtiles``) of the MBTiles files of ``directory``, sorted."""
    if not directory or not Path(directory).is_dir():
        return []
    return sorted(
        p.stem
        for p in Path(directory).glob("*.mbtiles")
        if p.is_file() and MBTILES_NAME.fullmatch(p.stem)
    )


def _mbtiles(s: BasemapSettings) -> Basemap | None:
    names = list_mbtiles(s.mbtiles_dir)
    if s.mbtiles_name:
        name = s.mbtiles_name if s.mbtiles_name in names else None
    else:
        name = names[0] if names else None
    if name is None:
        return None
    layer = {"url": f"/tiles/{name}/{{z}}/{{x}}/{{y}}", "maxZoom": s.tile_max_zoom}
    return Basemap("tiles", "mbtiles", s.tile_crs, (layer,), s.tile_attribution)


def resolve(s: BasemapSettings) -> Basemap:
    """The base map the settings give (an MBTiles source without its file: offline)."""
    if s.basemap in PRESETS:
        preset = PRESETS[s.basemap]
        token = quote(s.basemap_token, safe="")
        layers = tuple(
            {**layer, "url": layer["url"].replace("{tk}", token)} if "url" in layer else layer
            for layer in preset["layers"]
        )
        return Basemap("tiles", s.basemap, preset["crs"], layers, preset["attribution"])
    if s.basemap == "url" or (s.basemap == "auto" and s.tile_url):
        layer = {"url": s.tile_url, "maxZoom": s.tile_max_zoom}
        return Basemap("tiles", "url", s.tile_crs, (layer,), s.tile_attribution)
    if s.basemap in ("mbtiles", "auto"):
        found = _mbtiles(s)
        if found is not None:
            return found
    return Basemap("offline", "offline")


def page_config(s: BasemapSettings) -> dict[str, Any]:
    """The ``basemap`` entry of every page's configuration."""
    b = resolve(s)
    return {
        "kind": b.kind,
        "source": b.source,
        "crs": b.crs,
        "layers": list(b.layers),
        "attribution": b.attribution,
        "boundaries": BOUNDARIES_PATH,
        # the operator's file has its counties in it (properties.level = "county")
        "counties": "" if s.boundary_geojson else COUNTIES_PATH,
    }


def csp_sources(s: BasemapSettings) -> tuple[str, ...]:
    """The CSP ``img-src`` sources of the tiles (the MBTiles route is 'self')."""
    if s.basemap in PRESETS:
        return tuple(PRESETS[s.basemap]["hosts"])
    if s.tile_url and s.basemap in ("url", "auto"):
        parts = urlsplit(s.tile_url.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in s.tile_url else parts.netloc
        return (f"{parts.scheme}://{host}",)
    return ()
