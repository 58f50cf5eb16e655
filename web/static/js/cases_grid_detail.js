// 网格详情: breadcrumb, counters, people by duty, responsible units, stations, patrol points.
import { api, config, el, toast, fmtTime, stName, textTip, emptyRow } from "./common.js";
import { DUTY_LABEL, ready } from "./cases_common.js";
import { createMap, geo, ll } from "./basemap.js";

/* global L */
const id = config.areaId;

function row(...cells) { return el("tr", {}, cells.map((c) => el("td", {}, c ?? "—"))); }

async function load() {
  const a = await api(`/api/v1/grid/areas/${id}`);
  document.title = `${a.name} · 网格详情`;
  document.getElementById("area-title").textContent = `${a.name}（${a.level_name} ${a.code}）`;
  document.getElementById("crumbs").replaceChildren(...a.ancestors.flatMap((p) => [el("a", { href: `/grid/${p.id}`, text: p.name }), " › "]));
  const c = a.counts;
  document.getElementById("area-counters").replaceChildren(...[
    ["未结案件", c.open_cases, `/cases`], ["超期案件", c.overdue_cases, null], ["未完成巡查", c.open_tasks, `/patrol/tasks`], ["未整改隐患", c.open_hazards, `/patrol/hazards`],
  ].map(([k, v, href]) => el(href ? "a" : "div", { class: `counter${k.startsWith("超期") && v ? " bad" : ""}`, href }, el("b", { text: String(v) }), k)));
  const byDuty = {};
  for (const p of a.people) (byDuty[p.duty] ||= []).push(p);
  document.getElementById("people").replaceChildren(...(a.people.length ? Object.entries(byDuty).map(([duty, list]) =>
    el("li", {}, el("b", { text: `${DUTY_LABEL[duty] || duty}：` }), list.map((p) => `${p.name}${p.phone ? " " + p.phone : ""}`).join("、"))) : [el("li", { class: "muted", text: "未配置人员（按上级区域）" })]));
  document.querySelector("#units tbody").replaceChildren(...a.units.map((u) =>
    row(u.category === "*" ? "全部类别" : (u.category_name || u.category), `${u.unit_name}${u.unit_phone ? " " + u.unit_phone : ""}`, u.depth ? `${u.area_name}（上级）` : "本区域")));
  if (!a.units.length) document.querySelector("#units tbody").replaceChildren(emptyRow(4, "本区域及上级区域都没有配置责任单位", "请在“网格编辑”中为区域指定责任单位，案件才能派遣"));
  document.querySelector("#stations tbody").replaceChildren(...a.stations.map((s) =>
    row(el("a", { href: `/stations/${s.id}`, text: s.name }), s.mn, stName(s.st), fmtTime(s.last_data_at))));
  if (!a.stations.length) document.querySelector("#stations tbody").replaceChildren(emptyRow(5, "本区域内没有监测站点", "站点按坐标落入网格，可在站点管理中补充坐标"));
  document.querySelector("#points tbody").replaceChildren(...a.points.map((p) => row(p.code, p.name, p.kind)));
  if (!a.points.length) document.querySelector("#points tbody").replaceChildren(emptyRow(4, "本区域还没有巡查点", "请在“网格编辑”中添加巡查点"));
  document.getElementById("children").replaceChildren(...(a.children.length ? a.children.map((ch) =>
    el("li", {}, el("a", { href: `/grid/${ch.id}`, text: `${ch.name}（${ch.code}）` }))) : [el("li", { class: "muted", text: "无" })]));
  const map = createMap("area-map");
  const shape = a.boundary ? L.geoJSON(geo(a.boundary), { style: { color: "#1565c0", weight: 2, fillOpacity: 0.05 } }) : null;
  // The view first: on a map without one, Leaflet queues the layers and then draws the
  // boundary before the renderer the markers created has its bounds ("reading 'min'").
  if (shape && shape.getBounds().isValid()) map.fitBounds(shape.getBounds(), { padding: [10, 10] });
  else map.setView(ll(...(a.centroid_lat !== null ? [a.centroid_lat, a.centroid_lon] : (config.center || [30.27, 120.15]))), 13);
  if (shape) shape.addTo(map);
  for (const s of a.stations) if (s.lat !== null) L.circleMarker(ll(s.lat, s.lon), { radius: 6, color: "#0d47a1", fillOpacity: 0.85 }).bindTooltip(textTip(s.name)).addTo(map);
  for (const p of a.points) L.circleMarker(ll(p.lat, p.lon), { radius: 5, color: "#6a1b9a", fillOpacity: 0.85 }).bindTooltip(textTip(p.name)).addTo(map);
}
load().then(ready).catch((e) => { document.getElementById("area-title").textContent = e.message; toast(e.message, true); ready(); });
