// 网格设置: the five-level area tree, a form, and a map to draw / edit boundaries with
// Leaflet-Geoman; GeoJSON import (file → POST /api/v1/grid/import) and export.  The server
// checks every boundary (self-intersection, holes, outside the parent, sibling overlap) and
// its Chinese message is shown under the form.
import { api, config, el, toast, download } from "./common.js";
import { ready } from "./cases_common.js";
import { createMap, geo, ll, wgsGeo } from "./basemap.js";

/* global L */
const LEVELS = config.levelNames || ["市", "区县", "街道(乡镇)", "社区(村)", "网格"];
const COLORS = ["#0d47a1", "#1565c0", "#2e7d32", "#6a1b9a", "#546e7a"];
const map = createMap("ge-map").setView(ll(...(config.center || [30.27, 120.15])), config.zoom || 10);
window.gridEditMap = map; // the browser test turns coordinates into clicks with it
map.pm.setLang("zh");
map.pm.addControls({
  position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false, drawCircle: false,
  drawText: false, editMode: false, dragMode: false, cutPolygon: false, removalMode: false, rotateMode: false,
});
map.pm.setGlobalOptions({ snappable: true, snapDistance: 15 });

const $ = (id) => document.getElementById(id);
const state = { areas: [], selected: null, shape: null, edited: false };
const areaLayers = L.featureGroup().addTo(map);
let fitted = false;

function label(a) { return `${a.name}（${a.code}）`; }

function showErrors(message) {
  $("ge-errors").hidden = !message;
  $("ge-errors").textContent = message ? message.replace(/；/g, "\n") : "";
}

function setShape(layer, edited) {
  if (state.shape && state.shape !== layer && !state.shape.feature) map.removeLayer(state.shape);
  state.shape = layer;
  state.edited = edited;
  $("ge-shape").textContent = layer ? (edited ? "边界：已修改，待保存" : "边界：已有") : "边界：未绘制";
}

function fillParents(level, parentId) {
  const sel = $("ge-parent");
  sel.replaceChildren();
  if (level === 1) sel.append(el("option", { value: "", text: "（无：第 1 级）" }));
  for (const a of state.areas.filter((x) => x.level === level - 1)) {
    sel.append(el("option", { value: a.id, text: label(a), selected: a.id === parentId }));
  }
  if (level > 1 && !sel.options.length) sel.append(el("option", { value: "", text: `请先建立第 ${level - 1} 级（${LEVELS[level - 2]}）` }));
}

function renderTree() {
  const byParent = new Map();
  for (const a of state.areas) byParent.set(a.parent_id, [...(byParent.get(a.parent_id) || []), a]);
  const ids = new Set(state.areas.map((a) => a.id));
  const roots = state.areas.filter((a) => !ids.has(a.parent_id));
  const items = [];
  const walk = (a, depth) => {
    items.push(el("li", { dataset: { code: a.code, id: a.id }, style: `padding-left:${depth * 1.1}rem` },
      el("button", { type: "button", class: a.id === state.selected?.id ? "selected" : "", onclick: () => select(a.id) },
        `${LEVELS[a.level - 1]} · ${a.name}（`, el("code", { text: a.code }), `）${a.boundary ? "" : "（无边界）"}`)));
    for (const c of byParent.get(a.id) || []) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  $("ge-tree").replaceChildren(...items);
  $("ge-empty").hidden = state.areas.length > 0;
}

function renderMap() {
  areaLayers.clearLayers();
  for (const a of state.areas.filter((x) => x.boundary)) {
    const color = COLORS[a.level - 1];
    L.geoJSON({ type: "Feature", geometry: geo(a.boundary), properties: { id: a.id } }, {
      style: { color, weight: a.level >= 5 ? 1 : 2, fillOpacity: 0.05, className: `ge-area area-${a.code}` },
      pmIgnore: false,
      onEachFeature: (f, layer) => {
        layer.bindTooltip(label(a), { sticky: true });
        layer.on("click", () => { if (!map.pm.globalDrawModeEnabled()) select(a.id); });
        layer.on("pm:edit", () => { if (state.selected?.id === a.id) setShape(layer, true); });
        a.layer = layer;
      },
    }).addTo(areaLayers);
  }
  if (!fitted && areaLayers.getBounds().isValid()) { map.fitBounds(areaLayers.getBounds(), { padding: [10, 10], animate: false }); fitted = true; }
}

function stopEditing() {
  map.pm.disableDraw();
  for (const a of state.areas) a.layer?.pm.disable();
}

function select(id) {
  stopEditing();
  const a = state.areas.find((x) => x.id === id);
  state.selected = a || null;
  setShape(a?.layer || null, false);
  $("ge-title").textContent = a ? `修改区域：${label(a)}` : "新增区域";
  $("ge-code").value = a ? a.code : "";
  $("ge-code").disabled = !!a;
  $("ge-name").value = a ? a.name : "";
  $("ge-level").value = String(a ? a.level : $("ge-level").value || 1);
  $("ge-level").disabled = !!a;
  fillParents(Number($("ge-level").value), a?.parent_id ?? state.areas.find((x) => x.level === Number($("ge-level").value) - 1)?.id);
  $("ge-draw").textContent = a ? "重画边界" : "在地图上绘制边界";
  showErrors("");
  if (a?.layer) { a.layer.pm.enable({ allowSelfIntersection: true }); map.fitBounds(a.layer.getBounds(), { padding: [20, 20], animate: false }); }
  renderTree();
}

async function load(selectId) {
  state.areas = await api("/api/v1/grid/areas", { query: { boundary: "true" } });
  renderMap();
  select(selectId ?? null);
}

async function save(event) {
  event.preventDefault();
  showErrors("");
  const level = Number($("ge-level").value);
  const parent = $("ge-parent").value ? Number($("ge-parent").value) : null;
  const boundary = state.shape ? wgsGeo(state.shape.toGeoJSON().geometry) : null;
  try {
    let id = state.selected?.id;
    if (id) {
      const body = { name: $("ge-name").value.trim() };
      if (parent && parent !== state.selected.parent_id) body.parent_id = parent;
      if (state.edited) body.boundary = boundary;
      await api(`/api/v1/grid/areas/${id}`, { method: "PATCH", body });
    } else {
      if (level > 1 && !parent) throw new Error(`请选择上级区域（第 ${level - 1} 级：${LEVELS[level - 2]}）`);
      ({ id } = await api("/api/v1/grid/areas", {
        method: "POST", body: { code: $("ge-code").value.trim(), name: $("ge-name").value.trim(), level, parent_id: parent, boundary },
      }));
    }
    if (state.shape && !state.shape.feature) map.removeLayer(state.shape);
    state.shape = null;
    toast("已保存");
    await load(id);
  } catch (e) {
    showErrors(e.message);
    toast(e.message, true);
  }
}

async function importFile(input) {
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  let doc;
  try { doc = JSON.parse(await file.text()); } catch { toast(`文件 ${file.name} 不是有效的 JSON`, true); return; }
  const box = $("ge-report");
  try {
    const r = await api("/api/v1/grid/import", { method: "POST", body: doc });
    box.replaceChildren(el("p", { text: `已导入 ${file.name}：新增 ${r.created} 个，更新 ${r.updated} 个区域。` }),
      ...(r.warnings.length ? [el("p", { text: "提示：" }), el("ul", {}, r.warnings.map((w) => el("li", { text: w })))] : []));
    box.classList.remove("form-error");
    fitted = false;
    await load(state.selected?.id);
  } catch (e) {
    box.replaceChildren(el("p", { text: `导入 ${file.name} 失败，未写入任何区域：` }), el("p", { text: e.message }));
    box.classList.add("form-error");
  }
  box.hidden = false;
}

for (const [n, name] of LEVELS.entries()) $("ge-level").append(el("option", { value: n + 1, text: `第 ${n + 1} 级：${name}` }));
$("ge-level").addEventListener("change", () => fillParents(Number($("ge-level").value)));
$("ge-form").addEventListener("submit", save);
$("ge-new").addEventListener("click", () => select(null));
$("ge-draw").addEventListener("click", () => { stopEditing(); map.pm.enableDraw("Polygon", { allowSelfIntersection: true }); });
map.on("pm:create", (e) => { stopEditing(); setShape(e.layer, true); e.layer.pm.enable({ allowSelfIntersection: true }); e.layer.on("pm:edit", () => setShape(e.layer, true)); });
$("ge-export").addEventListener("click", () => download("/api/v1/grid/export").catch((e) => toast(e.message, true)));
$("ge-file").addEventListener("change", (e) => importFile(e.target));
load().then(ready).catch((e) => { toast(e.message, true); ready(); });
