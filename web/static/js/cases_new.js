// 上报案件 (人工录入): title, category, position on the map (or the device's), photos.
import { api, config, el, toast } from "./common.js";
import { miniMap, ready, uploadPhotos } from "./cases_common.js";
import { ll, wgs } from "./basemap.js";

/* global L */
let marker = null;
let pos = null;
const map = miniMap(document.getElementById("n-map"), [], { zoom: 12 });
function place(lat, lon) {
  pos = { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) };
  if (marker) marker.setLatLng(ll(lat, lon)); else marker = L.marker(ll(lat, lon)).addTo(map);
  document.getElementById("n-pos").textContent = `位置：${pos.lat}, ${pos.lon}`;
}
// a click on the map: back to WGS-84 (a GCJ-02 base map is shifted) before it is saved
if (map) map.on("click", (e) => { const p = wgs(e.latlng); place(p.lat, p.lon); });
document.getElementById("n-locate").addEventListener("click", () => {
  navigator.geolocation.getCurrentPosition((p) => { place(p.coords.latitude, p.coords.longitude); map.setView(ll(p.coords.latitude, p.coords.longitude), 16); },
    (e) => toast(`无法获取位置：${e.message}`, true), { enableHighAccuracy: true, timeout: 15000 });
});

async function loadCategories() {
  const sel = document.getElementById("n-category");
  for (const c of await api("/api/v1/cases/categories")) {
    if (!c.code.startsWith("env.")) sel.append(el("option", { value: c.code, text: c.name }));
  }
}
document.getElementById("new-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!pos) { toast("请在地图上选择位置", true); return; }
  try {
    const photos = await uploadPhotos(document.getElementById("n-photo"));
    const body = {
      title: document.getElementById("n-title").value.trim(),
      category: document.getElementById("n-category").value,
      description: document.getElementById("n-description").value.trim(),
      address: document.getElementById("n-address").value.trim(),
      urgent: document.getElementById("n-urgent").checked, ...pos,
    };
    if (photos.length) body.photos = photos;
    const ref = await api("/api/v1/cases", { method: "POST", body });
    toast(`已上报：${ref.code}`);
    location.href = `/cases/${ref.id}`;
  } catch (e) { toast(e.message, true); }
});
loadCategories().then(ready).catch((e) => toast(e.message, true));
void config;
