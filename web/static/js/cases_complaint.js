// 群众投诉 (public, no log-in): description, category, position on the map, photos.
import { config, el } from "./common.js";
import { miniMap, ready } from "./cases_common.js";
import { ll, wgs } from "./basemap.js";

/* global L */
const NAMES = { "complaint.air": "大气污染", "complaint.water": "水污染", "complaint.noise": "噪声扰民", "complaint.waste": "固体废物", other: "其他" };
const sel = document.getElementById("c-category");
for (const code of config.categories || []) sel.append(el("option", { value: code, text: NAMES[code] || code }));
let marker = null;
let pos = null;
const map = miniMap(document.getElementById("c-map"), [], { zoom: 12 });
function place(lat, lon) {
  pos = { lat: lat.toFixed(6), lon: lon.toFixed(6) };
  if (marker) marker.setLatLng(ll(lat, lon)); else marker = L.marker(ll(lat, lon)).addTo(map);
  document.getElementById("c-pos").textContent = `已选位置：${pos.lat}, ${pos.lon}`;
}
// a click on the map: back to WGS-84 (a GCJ-02 base map is shifted) before it is saved
if (map) map.on("click", (e) => { const p = wgs(e.latlng); place(p.lat, p.lon); });
document.getElementById("c-locate").addEventListener("click", () => {
  navigator.geolocation.getCurrentPosition((p) => { place(p.coords.latitude, p.coords.longitude); map.setView(ll(p.coords.latitude, p.coords.longitude), 16); },
    (e) => { document.getElementById("c-error").textContent = `无法获取位置：${e.message}`; }, { enableHighAccuracy: true, timeout: 15000 });
});
document.getElementById("c-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("c-error");
  error.textContent = "";
  if (!pos) { error.textContent = "请在地图上选择问题发生的位置"; return; }
  const photos = document.getElementById("c-photo").files;
  if (photos.length > (config.maxPhotos || 6)) { error.textContent = `最多上传 ${config.maxPhotos} 张照片`; return; }
  const form = new FormData(ev.target);
  form.delete("photo");
  for (const f of photos) form.append("photo", f, f.name);
  form.set("lat", pos.lat);
  form.set("lon", pos.lon);
  const button = document.getElementById("c-submit");
  button.disabled = true;
  try {
    const res = await fetch("/api/v1/public/complaints", { method: "POST", body: form, headers: { Accept: "application/json" } });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((data.error && data.error.message) || `提交失败（${res.status}）`);
    ev.target.hidden = true;
    const receipt = document.getElementById("c-receipt");
    receipt.hidden = false;
    receipt.replaceChildren(el("p", {}, data.message), el("p", {}, "案件编号：", el("b", { text: data.code })),
      el("p", { class: "muted", text: `已转交 ${data.grid_name} 处理。` }),
      el("p", {}, "请保存受理编号，凭编号和联系电话可", el("a", { href: "/complaint/status", text: "查询办理进度" }), "。"));
  } catch (e) {
    error.textContent = e.message;
  } finally { button.disabled = false; }
});
ready();
