// "导航" links that open a point in the phone's map app, each in the coordinate system the
// app expects: a plain geo: URI (RFC 5870) takes WGS-84 as stored; 高德 (Amap) takes
// GCJ-02 (coordinate=gaode); 百度 takes BD-09 (coord_type=bd09ll).  gcoord converts from
// the stored WGS-84/CGCS2000.  Pure (no DOM): web/static/js pages and tests/web use it.
import gcoord from "../vendor/gcoord/gcoord.esm-browser.prod.js";

const r6 = (v) => Math.round(v * 1e6) / 1e6;

function convert(lat, lon, to) {
  const [x, y] = gcoord.transform([lon, lat], gcoord.WGS84, to);
  return { lat: r6(y), lon: r6(x) };
}

/** WGS-84 → GCJ-02 (火星坐标, 高德/腾讯). */
export function toGcj02(lat, lon) { return convert(lat, lon, gcoord.GCJ02); }

/** WGS-84 → BD-09 (百度). */
export function toBd09(lat, lon) { return convert(lat, lon, gcoord.BD09); }

/** [{app, label, href}] for geo:, 高德 and 百度 (name: what the app shows at the point). */
export function mapLinks(lat, lon, name = "") {
  const label = encodeURIComponent(name || "目的地");
  const g = toGcj02(lat, lon);
  const b = toBd09(lat, lon);
  const w = { lat: r6(lat), lon: r6(lon) };
  return [
    { app: "geo", label: "地图应用", href: `geo:${w.lat},${w.lon}?q=${w.lat},${w.lon}(${label})` },
    { app: "amap", label: "高德地图",
      href: `https://uri.amap.com/marker?position=${g.lon},${g.lat}&name=${label}&coordinate=gaode&callnative=1&src=envgrid` },
    { app: "baidu", label: "百度地图",
      href: `https://api.map.baidu.com/marker?location=${b.lat},${b.lon}&title=${label}&content=${label}&coord_type=bd09ll&output=html&src=webapp.envgrid` },
  ];
}
