// Shared helpers of the grid, patrol and case pages.
import { ApiError, config, el, fmtTime, textTip } from "./common.js";
import { createMap, ll } from "./basemap.js";
import { mapLinks } from "./maplinks.js";

export const SOURCE_LABEL = { alert: "监测告警", hazard: "巡查隐患", complaint: "群众投诉", manual: "人工录入" };
export const STAGE_LABEL = {
  accept: "受理", verify: "核实", file: "立案", dispatch: "派遣", handle: "处置",
  check: "核查", visit: "回访", close: "结案",
};
export const DUTY_LABEL = { head: "网格长", member: "网格员", supervisor: "监督员" };
export const ROLE_LABEL = {
  admin: "管理员", officer: "监督/指挥中心", unit: "专业部门", grid_member: "网格员", viewer: "查看人员",
};
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

// "剩余 3小时20分" / "超期 2天1小时" with a class for the colour.
export function deadlineText(deadline, now = Date.now()) {
  if (!deadline) return { text: "—", cls: "" };
  const ms = new Date(deadline).getTime() - now;
  const abs = Math.abs(ms) / 60000;
  const d = Math.floor(abs / 1440), h = Math.floor((abs % 1440) / 60), m = Math.floor(abs % 60);
  const span = d ? `${d}天${h}小时` : h ? `${h}小时${m}分` : `${m}分钟`;
  if (ms < 0) return { text: `超期 ${span}`, cls: "overdue" };
  return { text: `剩余 ${span}`, cls: ms < 2 * 3600000 ? "soon" : "" };
}

// A case deadline as working time left (the server's deadline_left: "剩余 1.5 个工作日" /
// "已超期 3 个工作小时"); wall-clock text only when the server sent none.
export function workLeft(left, deadline, now = Date.now()) {
  if (!left) return deadlineText(deadline, now);
  return { text: left.text, cls: left.overdue ? "overdue" : left.minutes < 120 ? "soon" : "" };
}

// "地图应用 · 高德地图 · 百度地图": open a WGS-84 point in the phone's map app (maplinks.js).
export function navLinks(lat, lon, name) {
  return el("span", { class: "nav-links" }, mapLinks(lat, lon, name).flatMap((l, i) => [i ? " · " : null,
    el("a", { class: "nav-link", href: l.href, dataset: { app: l.app }, target: "_blank", rel: "noopener", text: l.label })]));
}

export function badge(text, cls = "") {
  return el("span", { class: `badge ${cls}`.trim(), text });
}

export function caseCard(c, now = Date.now()) {
  const dl = workLeft(c.deadline_left, c.deadline, now);
  return el("a", {
    class: `case-card${c.urgent ? " urgent" : ""}${c.overdue ? " is-overdue" : ""}`,
    href: `/cases/${c.id}`, dataset: { id: String(c.id), state: c.state },
  },
  el("div", { class: "title" }, c.title),
  el("div", { class: "sub" },
    el("span", { text: c.code }),
    el("span", { text: c.grid_name || "未定网格" }),
    c.unit_name ? el("span", { text: c.unit_name }) : null),
  el("div", { class: "tags" },
    badge(c.state_label, "state"),
    c.urgent ? badge("紧急", "urgent") : null,
    c.source === "alert" && c.priority > 1 && !c.urgent ? badge(c.priority === 3 ? "严重" : "较重", "yellow") : null,
    c.source === "alert" && c.recovered_at ? badge("已恢复", "recovered") : null,
    c.supervised ? badge("督办", "supervised") : null,
    c.rework_count ? badge(`返工${c.rework_count}`, "yellow") : null,
    el("span", { class: `deadline ${dl.cls}`, text: c.stage ? `${STAGE_LABEL[c.stage] || c.stage}：${dl.text}` : dl.text })));
}

export function photoStrip(items) {
  if (!items || !items.length) return null;
  return el("div", { class: "photos" }, items.map((a) =>
    el("a", { href: a.url, target: "_blank", rel: "noopener" },
      el("img", { src: a.url, alt: a.name || "照片", loading: "lazy" }))));
}

// Upload the chosen files (POST /api/v1/uploads, multipart) → the tokens the actions take.
export async function uploadPhotos(input) {
  const files = input && input.files ? [...input.files] : [];
  if (!files.length) return [];
  const form = new FormData();
  for (const f of files) form.append("photo", f, f.name);
  const res = await fetch("/api/v1/uploads", {
    method: "POST", body: form, credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = data.error || {};
    throw new ApiError(res.status, err.code || "error", err.message || `上传失败（${res.status}）`);
  }
  return data.items.map((i) => i.token);
}

/* global L */
// A small map (base map of basemap.js) with WGS-84 points; a picker converts clicks with wgs().
export function miniMap(container, points, { zoom = 15 } = {}) {
  if (typeof L === "undefined") return null;
  const map = createMap(container, { zoomControl: true });
  const valid = points.filter((p) => p.lat !== null && p.lat !== undefined && p.lon !== null && p.lon !== undefined);
  for (const p of valid) {
    L.circleMarker(ll(p.lat, p.lon), { radius: p.radius || 8, color: p.color || "#0b6e4f", fillColor: p.fill || p.color || "#0b6e4f", fillOpacity: 0.8, weight: 2 })
      .addTo(map).bindTooltip(textTip(p.label || ""));
  }
  if (valid.length) map.setView(ll(valid[0].lat, valid[0].lon), zoom);
  else map.setView(ll(...(config.center || [30.27, 120.15])), config.zoom || 10);
  return map;
}

export function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter((p) => p).flatMap(([k, v]) =>
    [el("dt", { text: k }), el("dd", {}, v === null || v === undefined || v === "" ? "—" : v)]));
}

export function when(v) { return fmtTime(v); }

export function pct(v) { return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`; }

export function ready() { document.body.dataset.ready = "1"; }
