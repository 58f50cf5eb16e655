// Stations admin: pending approvals, the registry form (coordinates picked on a map),
// the registry list with edit/disable.
import { api, config, el, fmtTime, toast, EDITION_LABEL, STATUS_LABEL, stName } from "./common.js";
import { createMap, geo, ll, wgs } from "./basemap.js";

/* global L */
const $ = (id) => document.getElementById(id);
const AREA_CLASS_LABEL = { 1: "一类区", 2: "二类区" };
// the registered edition, and the one seen on the wire when it differs (or none is set)
function editionText(s) {
  const reg = s.registered_edition, seen = s.edition;
  if (reg && seen && seen !== reg) return `${EDITION_LABEL[reg]}（实际 ${EDITION_LABEL[seen] || seen}）`;
  if (reg) return EDITION_LABEL[reg] || reg;
  return seen ? `${EDITION_LABEL[seen] || seen}（自动识别）` : "";
}
const coordMap = createMap("coord-map").setView(ll(...config.center), config.zoom);
const areaLayer = L.geoJSON(null, { style: { color: "#1565c0", weight: 1, fillOpacity: 0.03 } }).addTo(coordMap);
let pin = null;
// the pin at a WGS-84 point; a click is converted back to WGS-84 before it is saved
function setPin(lat, lon) {
  if (pin) pin.setLatLng(ll(lat, lon)); else pin = L.circleMarker(ll(lat, lon), { radius: 8, color: "#c62828" }).addTo(coordMap);
}
coordMap.on("click", (ev) => {
  const p = wgs(ev.latlng);
  $("s-lat").value = p.lat.toFixed(6);
  $("s-lon").value = p.lon.toFixed(6);
  setPin(p.lat, p.lon);
});

function resetForm() {
  $("station-form").reset();
  $("s-limits").dataset.original = "";
  $("s-id").value = "";
  $("s-mn").disabled = false;
  $("form-title").textContent = "登记站点";
  $("s-error").hidden = true;
}
$("s-reset").addEventListener("click", resetForm);

function formBody() {
  const body = {};
  const text = (id, key) => { const v = $(id).value.trim(); if (v) body[key] = v; };
  text("s-name", "name"); text("s-password", "password"); text("s-st", "st");
  text("s-region", "region"); text("s-address", "address");
  for (const [id, key] of [["s-lat", "lat"], ["s-lon", "lon"]]) if ($(id).value) body[key] = Number($(id).value);
  if ($("s-rtd").value) body.rtd_interval = Number($("s-rtd").value);
  if ($("s-grid").value) body.grid_id = Number($("s-grid").value);
  const factors = $("s-factors").value.split(/[\s,，]+/).filter(Boolean);
  if (factors.length) body.expected_factors = factors;
  const limits = {};
  for (const part of $("s-limits").value.split(/[\s,，]+/).filter(Boolean)) {
    const [k, v] = part.split("=");
    if (k && v !== undefined) limits[k] = Number(v);
  }
  // only when edited: the limits are alert configuration (permission alerts:limits)
  if ($("s-limits").value !== ($("s-limits").dataset.original || "")) body.limits = limits;
  body.area_class = Number($("s-area-class").value);
  body.enabled = $("s-enabled").checked;
  if ($("s-edition").value) body.edition = $("s-edition").value;
  text("s-sm4-key", "sm4_key");
  body.strict_edition = $("s-strict-edition").checked;
  return body;
}

$("station-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("s-error").hidden = true;
  const id = $("s-id").value;
  try {
    if (id) await api(`/api/v1/stations/${id}`, { method: "PATCH", body: formBody() });
    else await api("/api/v1/stations", { method: "POST", body: { mn: $("s-mn").value.trim(), ...formBody() } });
    toast("已保存");
    resetForm();
    loadRegistry();
  } catch (e) { $("s-error").textContent = e.message; $("s-error").hidden = false; }
});

async function edit(id) {
  const s = await api(`/api/v1/stations/${id}`);
  $("s-id").value = s.id;
  $("s-mn").value = s.mn; $("s-mn").disabled = true;
  $("s-name").value = s.name; $("s-st").value = s.st || ""; $("s-region").value = s.region || "";
  $("s-address").value = s.address || ""; $("s-lat").value = s.lat ?? ""; $("s-lon").value = s.lon ?? "";
  $("s-rtd").value = s.rtd_interval ?? ""; $("s-grid").value = s.grid_id ?? "";
  $("s-factors").value = (s.expected_factors || []).join(",");
  $("s-limits").value = $("s-limits").dataset.original = Object.entries(s.own_limits || {}).map(([k, v]) => `${k}=${v}`).join(",");
  $("s-enabled").checked = s.enabled;
  $("s-area-class").value = String(s.area_class ?? 2);
  $("s-edition").value = s.registered_edition || "";
  $("s-strict-edition").checked = Boolean(s.strict_edition);
  $("s-sm4-key").value = "";
  $("s-sm4-key").placeholder = s.has_sm4_key
    ? `已设置（${fmtTime(s.sm4_key_created_at)}）；不修改请留空` : "16 个字符或 32 位十六进制；不修改请留空";
  $("form-title").textContent = `修改站点 ${s.mn}`;
  if (s.lat !== null && s.lon !== null) { setPin(s.lat, s.lon); coordMap.setView(ll(s.lat, s.lon), 13); }
  $("station-form").scrollIntoView({ behavior: "smooth" });
}

async function setEnabled(id, enabled) {
  try { await api(`/api/v1/stations/${id}`, { method: "PATCH", body: { enabled } }); loadRegistry(); }
  catch (e) { toast(e.message, true); }
}

async function loadRegistry() {
  const data = await api("/api/v1/stations", { query: { q: $("r-q").value, limit: 200 } });
  $("r-total").textContent = `共 ${data.total} 站`;
  $("registry-table").tBodies[0].replaceChildren(...data.items.map((s) => el("tr", {},
    el("td", {}, el("a", { href: `/stations/${s.id}`, text: s.mn })), el("td", { text: s.name }),
    el("td", { title: s.st ? `ST ${s.st}` : undefined, text: stName(s.st) }), el("td", { text: editionText(s) }), el("td", { text: s.region || "" }),
    el("td", { text: AREA_CLASS_LABEL[s.area_class] || "" }),
    el("td", {}, el("span", { class: `status ${s.status}`, text: STATUS_LABEL[s.status] })),
    el("td", {}, el("button", { class: "secondary", type: "button", onclick: () => edit(s.id), text: "编辑" }), " ",
      el("button", { class: "danger", type: "button", onclick: () => setEnabled(s.id, !s.enabled), text: s.enabled ? "停用" : "启用" })))));
}

async function loadPending() {
  const rows = await api("/api/v1/pending-stations");
  const body = $("pending-table").tBodies[0];
  if (!rows.length) { body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "没有待审批的站点" }))); return; }
  body.replaceChildren(...rows.map((p) => el("tr", {},
    el("td", { text: p.mn }), el("td", { title: p.st ? `ST ${p.st}` : undefined, text: stName(p.st) }),
    el("td", { text: (EDITION_LABEL[p.edition] || p.edition || "") + (p.encrypted ? "（加密报文，需登记 SM4 密钥）" : "") }),
    el("td", { text: fmtTime(p.first_seen) }),
    el("td", { text: fmtTime(p.last_seen) }),
    el("td", {}, String(p.frames), p.pw_conflicts ? el("span", { class: "flag-bad", title: "同一 MN 的帧带来了与首次不同的密码：可能有两台数采仪或有人在猜测",
      text: ` 密码不一致 ${p.pw_conflicts} 次` }) : ""),
    el("td", {},
      el("button", { class: "primary", type: "button", text: "通过", onclick: async () => {
        try { await api(`/api/v1/pending-stations/${p.mn}/approve`, { method: "POST", body: {} }); toast("已通过"); loadPending(); loadRegistry(); }
        catch (e) { toast(e.message, true); } } }), " ",
      el("button", { class: "danger", type: "button", text: "拒绝", onclick: async () => {
        try { await api(`/api/v1/pending-stations/${p.mn}/reject`, { method: "POST" }); loadPending(); }
        catch (e) { toast(e.message, true); } } })))));
}

async function loadAreas() {
  const areas = await api("/api/v1/areas", { query: { boundary: "true" } });
  for (const a of areas) {
    if (a.boundary) areaLayer.addData(geo({ type: "Feature", geometry: a.boundary, properties: {} }));
    if (a.level >= 4) $("s-grid").append(el("option", { value: a.id, text: a.name }));
  }
}

let t = null;
$("r-q").addEventListener("input", () => { clearTimeout(t); t = setTimeout(loadRegistry, 300); });
Promise.all([loadPending(), loadRegistry(), loadAreas()])
  .then(() => { document.body.dataset.ready = "1"; }).catch((e) => toast(e.message, true));
