// Shared helpers of the dashboard pages: API calls (CSRF header), formatting, live stream.
export const config = JSON.parse(document.getElementById("page-config")?.textContent || "{}");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = data.error || {};
    throw new ApiError(res.status, err.code || "error", err.message || `请求失败（${res.status}）`);
  }
  return data;
}

/** Text for a Leaflet tooltip or popup: an element, so the text is never read as HTML
 *  (a station named <img onerror=…> shows as typed). */
export function textTip(text) {
  return el("span", { text: String(text ?? "") });
}

/** Text made safe inside HTML (ECharts tooltip formatters return HTML). */
export function escapeHtml(text) {
  const map = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return String(text ?? "").replace(/[&<>"']/g, (c) => map[c]);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A factor as an officer reads it: its Chinese name, the HJ 212 code only in the tooltip. */
export function factorLabel(name, code) {
  return el("span", { class: "factor", title: code ? `编码 ${code}` : undefined, text: name || "未登记的因子" });
}

/** Nodes of a server message whose `backquoted` parts are commands or package names:
 *  those become <code translate="no">, the rest stays text. */
export function withCode(text) {
  return String(text ?? "").split("`").map((part, i) => (i % 2 ? el("code", { translate: "no", text: part }) : part));
}

export function toast(message, bad = false) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.className = "toast" + (bad ? " bad" : "");
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

const fmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: config.timezone || "Asia/Shanghai", year: "numeric", month: "2-digit",
  day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
export function fmtTime(value) {
  if (!value) return "—";
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return isNaN(d) ? String(value) : fmt.format(d).replace(/\//g, "-");
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "从未上传";
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}天${h}小时`;
  if (h) return `${h}小时${m}分钟`;
  return `${m}分钟`;
}

export function fmtNumber(v) {
  if (v === null || v === undefined) return "—";
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3).replace(/\.?0+$/, "");
}

export const STATUS_LABEL = { online: "在线", offline: "离线", disabled: "停用" };
// HJ 212 editions (stations.registered_edition / edition).
export const EDITION_LABEL = { 2005: "HJ/T 212-2005", 2017: "HJ 212-2017", 2025: "HJ 212-2025" };
// System codes (ST) as protocol/systems.json names them, shortened for tables.
export const ST_LABEL = {
  "21": "地表水", "22": "空气质量", "23": "声环境", "24": "地下水", "25": "土壤", "26": "海水",
  "27": "挥发性有机物", "31": "废气污染源", "32": "废水污染源", "33": "地下水污染源",
  "34": "海洋污染源", "35": "土壤污染源", "36": "噪声污染源", "37": "振动污染源",
  "38": "放射性污染源", "39": "工地扬尘", "41": "电磁污染源", "44": "用电监控",
  "45": "关键生产工况", "51": "烟气排放过程", "52": "污水排放过程",
};

/** A station type (ST) by name; an ST the table does not know by its number. */
export function stName(st) {
  return st ? ST_LABEL[st] || `系统编码 ${st}` : "—";
}

// Text colour readable on an AQI colour (dark levels get white text).
export function darkBackground(hex) {
  const n = parseInt((hex || "#999999").slice(1), 16);
  const r = n >> 16, g = (n >> 8) & 255, b = n & 255;
  return 0.299 * r + 0.587 * g + 0.114 * b < 140;
}

export function aqiChip(aqi, color, category) {
  const chip = el("span", { class: "aqi-chip" + (darkBackground(color) ? " dark" : "") },
    aqi === null || aqi === undefined ? "—" : String(aqi));
  chip.style.background = color || "#999999";
  if (category) chip.title = category;
  return chip;
}

// Server-sent events with status display and automatic reconnection (EventSource).
export function liveStream(query, handlers, indicator) {
  const url = new URL("/api/v1/live", location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v) url.searchParams.set(k, v);
  const source = new EventSource(url);
  const mark = (on) => { if (indicator) indicator.className = "live " + (on ? "on" : "off"); };
  source.addEventListener("hello", () => mark(true));
  source.onerror = () => mark(false);
  for (const [name, fn] of Object.entries(handlers)) {
    source.addEventListener(name, (ev) => fn(JSON.parse(ev.data)));
  }
  return source;
}

// Milliseconds to add to an instant so that ECharts (useUTC: true) shows the wall clock of
// the platform's time zone (core.timezone) whatever the browser's zone is.
export function zoneOffsetMs(instant = Date.now()) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: config.timezone || "Asia/Shanghai", hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  const wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

// A calendar day ("YYYY-MM-DD") plus n days.
export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// Download a file from a URL (GET) with the session cookie; the server's
// Content-Disposition names it.  Resolves once the request has finished.
export async function download(path, query) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new ApiError(res.status, data.error?.code || "error", data.error?.message || `下载失败（${res.status}）`);
  }
  const blob = await res.blob();
  const header = res.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  const plain = /filename="([^"]+)"/i.exec(header);
  const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : "download";
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  return name;
}

// Empty states: say why there is nothing and what to do (issue 22 §5).
export const FILTERED_EMPTY = "当前筛选条件下没有数据";
// One table row spanning `colspan` columns with the reason (and a hint) for an empty table.
export function emptyRow(colspan, why, hint = "") {
  return el("tr", { class: "empty-state" },
    el("td", { colspan, class: "muted empty-state", text: hint ? `${why}。${hint}` : why }));
}
// An ECharts option for a chart with nothing to draw: the reason in the middle.
export function emptyChartOption(why) {
  return { title: { text: why, left: "center", top: "middle", textStyle: { fontSize: 13, color: "#757575", fontWeight: "normal" } },
    xAxis: { show: false }, yAxis: { show: false }, series: [] };
}
