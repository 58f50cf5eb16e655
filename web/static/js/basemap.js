// The base map of every map of the dashboard, built from the page configuration
// (`config.basemap`, web/map/basemap.py): tiles (天地图, a GCJ-02 provider through
// leaflet.chinatmsproviders, the operator's tile server, an MBTiles file envgrid serves)
// or, without a tile source, the offline layer of province/county boundaries.
//
// Coordinates are WGS-84/CGCS2000 everywhere but on a GCJ-02 map: draw with `ll()` /
// `geo()` (WGS-84 → the map's system) and read a click with `wgs()` (back to WGS-84).
import gcoord from "../vendor/gcoord/gcoord.esm-browser.prod.js";
import { config, toast } from "./common.js";

/* global L */
const BASE = config.basemap || { kind: "offline", crs: "wgs84", layers: [], attribution: "", boundaries: "/basemap/boundaries.geojson" };
const GCJ = BASE.crs === "gcj02";
const round6 = (v) => Math.round(v * 1e6) / 1e6;

/** [lat, lon] on the map of a WGS-84 point. */
export function ll(lat, lon) {
  if (!GCJ) return [lat, lon];
  const [x, y] = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02);
  return [y, x];
}

/** A copy of a WGS-84 GeoJSON object in the map's coordinate system. */
export function geo(doc) {
  if (!GCJ || !doc) return doc;
  return gcoord.transform(structuredClone(doc), gcoord.WGS84, gcoord.GCJ02);
}

/** A copy of a GeoJSON object drawn on the map, in WGS-84 (the reverse of `geo()`). */
export function wgsGeo(doc) {
  if (!GCJ || !doc) return doc;
  return gcoord.transform(structuredClone(doc), gcoord.GCJ02, gcoord.WGS84);
}

/** The WGS-84 {lat, lon} (6 decimals) of a point of the map (a click, a marker). */
export function wgs(latlng) {
  if (!GCJ) return { lat: round6(latlng.lat), lon: round6(latlng.lng) };
  const [x, y] = gcoord.transform([latlng.lng, latlng.lat], gcoord.GCJ02, gcoord.WGS84);
  return { lat: round6(y), lon: round6(x) };
}

// leaflet.chinatmsproviders extends the global L: loaded only by a page with a map
// (helpers that import this module also serve pages without Leaflet)
let providers = null;
async function tileLayer(spec, index) {
  const options = { maxZoom: spec.maxZoom || 18, className: "basemap-tile", zIndex: index + 1 };
  if (spec.subdomains) options.subdomains = spec.subdomains;
  if (!spec.provider) return L.tileLayer(spec.url, options);
  providers ||= import("../vendor/chinatmsproviders/leaflet.ChineseTmsProviders.js");
  await providers;
  return L.tileLayer.chinaProvider(spec.provider, options); // e.g. "GaoDe.Normal.Map"
}

let warned = false;
function watchTiles(layer) {
  let loaded = 0, failed = 0;
  layer.on("tileload", () => { loaded += 1; });
  layer.on("tileerror", () => {
    failed += 1;
    if (!warned && !loaded && failed >= 6) {
      warned = true;
      toast("底图瓦片加载失败：请检查底图设置（web.basemap）与网络", true);
    }
  });
}

const boundaryCache = new Map();
async function boundaryLayer(map) {
  map.createPane("basemap").style.zIndex = 250; // under the overlays (400), over tiles (200)
  map.getPane("basemap").style.pointerEvents = "none";
  const url = BASE.boundaries;
  if (!boundaryCache.has(url)) {
    boundaryCache.set(url, fetch(url, { credentials: "same-origin" }).then((res) => {
      if (!res.ok) throw new Error(`边界文件无法读取（${res.status}）`);
      return res.json();
    }));
  }
  try {
    const doc = await boundaryCache.get(url);
    L.geoJSON(doc, {
      pane: "basemap",
      interactive: false,
      style: (f) => {
        const county = (f.properties && f.properties.level) === "county";
        return { color: "#78909c", weight: county ? 0.6 : 1.2, opacity: 0.9, fill: true, fillColor: "#eceff1", fillOpacity: county ? 0 : 0.5, dashArray: county ? "3 3" : null };
      },
    }).addTo(map);
    map.getContainer().dataset.basemapReady = "1";
  } catch (e) {
    toast(`离线底图：${e.message}`, true);
  }
}

/** The maps of the page (for the browser tests). */
export const maps = [];

/** A Leaflet map in `container` with the configured base map under it. */
export function createMap(container, options = {}) {
  const attribution = BASE.kind === "tiles" ? BASE.attribution : "";
  const map = L.map(container, { attributionControl: !!attribution, ...options });
  if (attribution) map.attributionControl.setPrefix(false).addAttribution(attribution);
  const box = map.getContainer();
  box.dataset.basemap = BASE.source || BASE.kind;
  box.dataset.basemapCrs = BASE.crs;
  if (BASE.kind === "tiles") {
    Promise.all(BASE.layers.map(async (spec, i) => {
      const layer = await tileLayer(spec, i);
      watchTiles(layer);
      layer.addTo(map);
    })).then(() => { box.dataset.basemapReady = "1"; })
      .catch((e) => toast(`底图无法加载：${e.message}`, true));
  } else {
    box.classList.add("basemap-offline");
    boundaryLayer(map);
  }
  maps.push(map);
  return map;
}
