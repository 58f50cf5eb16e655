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
const BASE = config.basemap || { kind: "offline", crs: "wgs84", layers: [], attribution: "", boundaries: "/basemap/boundaries.geojson", counties: "" };
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

// The offline layer: provinces always; counties from zoom COUNTY_ZOOM on, their names
// from LABEL_ZOOM on.  The default counties (`BASE.counties`: web/frontend/china-counties.mjs)
// are one file per province, fetched when the view first reaches that province's box
// (index.json); an operator's web.boundary_geojson has both levels in one file
// (`properties.level = "county"`) and replaces the default counties too.
const COUNTY_ZOOM = 7;
const LABEL_ZOOM = 9;
const PROVINCE = { color: "#78909c", weight: 1.2, opacity: 0.9, fill: true, fillColor: "#eceff1", fillOpacity: 0.5 };
const COUNTY = { color: "#78909c", weight: 0.6, opacity: 0.9, fill: false, dashArray: "3 3", className: "basemap-county" };
const isCounty = (f) => (f.properties && f.properties.level) === "county";
// not part of what a user draws: leaflet-geoman neither edits nor snaps to them
const BACKGROUND = { pane: "basemap", interactive: false, pmIgnore: true, snapIgnore: true };

const fetched = new Map(); // URL → its JSON, shared by the maps of the page
function getJSON(url, what) {
  if (!fetched.has(url)) {
    fetched.set(url, fetch(url, { credentials: "same-origin" }).then((res) => {
      if (!res.ok) throw new Error(`${what}无法读取（${res.status}）`);
      return res.json();
    }));
  }
  return fetched.get(url);
}

/** County lines (and names) on `map` from `features` and, with `url`, the per-province
 * files under it as the view reaches them. */
function countyLayer(map, features, url) {
  const lines = L.layerGroup();
  const labels = L.layerGroup();
  const box = map.getContainer();
  const loaded = new Set();
  let drawn = 0;
  function add(list) {
    const layer = L.geoJSON({ type: "FeatureCollection", features: list }, { ...BACKGROUND, style: () => COUNTY });
    lines.addLayer(layer);
    layer.eachLayer((shape) => {
      const p = shape.feature.properties || {};
      if (!p.name) return;
      const at = Array.isArray(p.cp) ? ll(p.cp[1], p.cp[0]) : shape.getBounds().getCenter();
      const name = document.createElement("span");
      name.textContent = p.name;
      labels.addLayer(L.marker(at, {
        ...BACKGROUND, pane: "basemapLabels", keyboard: false,
        icon: L.divIcon({ className: "basemap-county-label", html: name, iconSize: null }),
      }));
    });
    drawn += list.length;
    box.dataset.basemapCounties = String(drawn);
  }
  const show = (layer, on) => (on ? map.addLayer(layer) : map.removeLayer(layer));
  async function update() {
    const zoom = map.getZoom();
    show(lines, zoom >= COUNTY_ZOOM);
    show(labels, zoom >= LABEL_ZOOM);
    if (!url || zoom < COUNTY_ZOOM) return;
    try {
      const index = await getJSON(`${url}index.json`, "县级边界索引");
      const view = map.getBounds();
      await Promise.all(Object.entries(index).map(async ([code, { bbox }]) => {
        if (loaded.has(code) || !view.intersects(L.latLngBounds(ll(bbox[1], bbox[0]), ll(bbox[3], bbox[2])))) return;
        loaded.add(code);
        add((await getJSON(`${url}${code}.geojson`, "县级边界文件")).features);
      }));
    } catch (e) {
      url = null; // one message, not one per move
      toast(`离线底图：${e.message}`, true);
    }
  }
  if (features.length) add(features);
  map.whenReady(() => {
    map.on("moveend", update);
    update();
  });
}

async function boundaryLayer(map) {
  map.createPane("basemap").style.zIndex = 250; // under the overlays (400), over tiles (200)
  map.getPane("basemap").style.pointerEvents = "none";
  map.createPane("basemapLabels").style.zIndex = 260;
  map.getPane("basemapLabels").style.pointerEvents = "none";
  try {
    const doc = await getJSON(BASE.boundaries, "边界文件");
    L.geoJSON(doc, { ...BACKGROUND, filter: (f) => !isCounty(f), style: () => PROVINCE }).addTo(map);
    countyLayer(map, doc.features.filter(isCounty), BASE.counties);
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
