// Station page: real-time values, last hour and last 24 h charts with limits and data
// flags, equipment status, raw frames (packet ledger), remote commands, live alerts.
import { api, config, el, escapeHtml, factorLabel, fmtTime, fmtNumber, aqiChip, liveStream, toast, zoneOffsetMs, EDITION_LABEL, STATUS_LABEL, stName, emptyRow } from "./common.js";
import { alertValue } from "./alert_format.js";

/* global echarts */
const id = config.stationId;
let station = null;
let factors = [];
let view = "rt";
const charts = new Map();

function renderHead(s) {
  document.title = `${s.name} · 环境监测平台`;
  document.getElementById("st-name").textContent = s.name;
  document.getElementById("st-meta").replaceChildren(
    el("span", { class: `status ${s.status}`, text: STATUS_LABEL[s.status] }), " ",
    `${s.mn} · ${stName(s.st)} · ${s.region || ""}${s.grid_name ? " · " + s.grid_name : ""} · 最近上传 ${fmtTime(s.last_data_at)} · `,
    el("span", { id: "st-edition", text: `${EDITION_LABEL[s.edition || s.registered_edition] || "协议版本未知"}${s.has_sm4_key ? "（SM4 加密）" : ""} · ` }),
    el("span", { id: "st-area-class", title: s.gb3095 ? `按 ${s.gb3095.label} 限值评价` : "", text: `功能区类别：${s.gb3095 ? s.gb3095.area_class_zh : ""}` }));
  const badge = document.getElementById("st-aqi");
  if (s.aqi && s.aqi.aqi === null) {  // NA: a pollutant missing and the rest ≤ 100
    badge.replaceChildren(el("span", {}, "AQI ", aqiChip(null, s.aqi.color, "NA"), " NA",
      el("span", { class: "muted", text: `（缺 ${s.aqi.missing.join("、")}，其余指标 AQI ≤ 100，按 ${s.aqi.standard} 第5.3条不发布）` })));
    return;
  }
  if (!s.aqi) { badge.replaceChildren(el("span", { class: "muted", text: "AQI 无数据" })); return; }
  const basis = s.aqi.basis === "hour" ? `${fmtTime(s.aqi_hour).slice(11, 13)}时小时值` : "最新实时值";
  const groups = Object.entries(s.aqi.sensitive_groups || {});
  badge.replaceChildren(el("span", {}, "AQI ", aqiChip(s.aqi.aqi, s.aqi.color, s.aqi.category), " ", s.aqi.category || "",
    s.aqi.primary.length ? ` 首要污染物 ${s.aqi.primary.join("、")}` : "",
    el("span", { class: "muted", id: "st-aqi-standard", text: `（${s.aqi.standard} 实时报，${basis}）` })),
    s.aqi.health_effect ? el("div", { class: "muted", id: "st-aqi-advice", text: `健康影响：${s.aqi.health_effect} 建议措施：${s.aqi.advice}` }) : "",
    groups.length ? el("div", { class: "muted", id: "st-aqi-sensitive",
      text: `敏感人群（${s.aqi.standard}）：${groups.map(([p, g]) => `${p}：${g}`).join("；")}` }) : "");
}

function limitText(f) {
  if (f.limit === null || f.limit === undefined) return f.lower !== undefined && f.lower !== null ? `≥ ${fmtNumber(f.lower)}` : "—";
  const star = f.limit_verified === false ? "*" : "";
  const low = f.lower !== undefined && f.lower !== null ? `${fmtNumber(f.lower)}–` : "";
  return `${low}${fmtNumber(f.limit)}${star}`;
}

// Effective alert limits (the alert engine's view) override the displayed limits.
let effective = new Map();
function applyLimits() {
  if (!station) return;
  for (const f of station.latest) {
    const e = effective.get(f.code);
    if (!e || !e.exceedance) continue;
    f.limit = e.exceedance.upper ?? null;
    f.lower = e.exceedance.lower ?? null;
    f.limit_source = e.exceedance.source || "告警限值";
    f.limit_verified = e.gb3095 && f.limit === e.gb3095.limit ? e.gb3095.verified : true;
    f.over_limit = f.value !== null && ((f.limit !== null && f.value > f.limit) || (f.lower !== null && f.value < f.lower));
  }
}

async function loadLimits() {
  const data = await api(`/api/v1/stations/${id}/limits`);
  effective = new Map(data.factors.map((f) => [f.factor_code, f]));
  // the table in force and the station's grade, named by the server (never a fixed string)
  if (data.gb3095) document.getElementById("gb3095-head").textContent = data.gb3095.label;
  applyLimits();
  if (station) renderLatest();
  const RULES = (f) => ["flatline", "jump", "aqi_level", "maintenance"].filter((k) => f[k]).map((k) => ({ flatline: "恒值", jump: "突变", aqi_level: "AQI 等级", maintenance: "维护/故障" })[k]).join("、");
  document.querySelector("#limits-table tbody").replaceChildren(...data.factors.map((f) => el("tr", { dataset: { code: f.factor_code } },
    el("td", {}, factorLabel(f.factor_name, f.factor_code)),
    el("td", { text: f.exceedance && f.exceedance.upper !== null ? fmtNumber(f.exceedance.upper) : "—" }),
    el("td", { text: f.exceedance && f.exceedance.lower !== null && f.exceedance.lower !== undefined ? fmtNumber(f.exceedance.lower) : "—" }),
    el("td", { text: f.exceedance ? f.exceedance.source || "—" : "—" }),
    el("td", { text: f.gb3095 ? `${fmtNumber(f.gb3095.limit)}${f.gb3095.verified ? "" : "*"}（${f.gb3095.standard}）` : "—" }),
    el("td", { text: RULES(f) || "—" }))));
  const own = new Map(data.own.map((o) => [o.factor_code, o]));
  if (config.canLimits) {
    const form = document.getElementById("limit-form");
    const sel = document.getElementById("limit-factor");
    if (!sel.options.length) {
      for (const f of station.latest) sel.append(el("option", { value: f.code, text: f.name }));
      form.hidden = false;
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const body = { factor_code: sel.value };
        const up = document.getElementById("limit-upper").value, low = document.getElementById("limit-lower").value;
        if (up !== "") body.upper = Number(up);
        if (low !== "") body.lower = Number(low);
        try { await api(`/api/v1/stations/${id}/limits`, { method: "POST", body }); toast("已设置站点限值"); loadLimits(); }
        catch (e) { toast(e.message, true); }
      });
    }
    for (const row of document.querySelectorAll("#limits-table tbody tr")) {
      const o = own.get(row.dataset.code);
      if (o) row.cells[3].append(" ", el("button", { class: "link", type: "button", text: "删除站点限值", onclick: async () => {
        try { await api(`/api/v1/stations/${id}/limits/${o.id}`, { method: "DELETE" }); toast("已删除"); loadLimits(); } catch (e) { toast(e.message, true); }
      } }));
    }
  }
}

const ALERT_STATE = { pending: "待确认", firing: "告警中", acknowledged: "已确认", resolved: "已恢复" };
async function loadAlerts() {
  if (!config.canAlerts) return;
  document.getElementById("alerts-panel").hidden = false;
  document.getElementById("alerts-all").href = `/alerts?station=${id}`;
  const data = await api("/api/v1/alerts", { query: { station: id, limit: 20 } });
  document.querySelector("#alerts-table tbody").replaceChildren(...(data.items.length ? data.items.map((a) => el("tr", { dataset: { id: a.id, state: a.state } },
    el("td", { text: a.severity_zh }),
    el("td", {}, el("a", { href: `/alerts/${a.id}`, text: `${a.rule_zh}${a.factor_name ? " · " + a.factor_name : ""}` })),
    el("td", { text: alertValue(a) }), el("td", { text: fmtTime(a.first_seen) }),
    el("td", {}, el("span", { class: `badge state-${a.state}`, text: ALERT_STATE[a.state] || a.state })),
    el("td", {}, config.canAck && a.state === "firing" ? el("button", { class: "secondary small", type: "button", text: "确认", onclick: async () => {
      try { await api(`/api/v1/alerts/${a.id}/ack`, { method: "POST", body: {} }); toast("已确认"); loadAlerts(); } catch (e) { toast(e.message, true); }
    } }) : null))) : [emptyRow(7, "这个站点还没有告警", "监测数据超标、离线等按告警规则自动产生告警")]));
  document.body.dataset.alerts = String(data.total);
}

function renderLatest() {
  const body = document.querySelector("#latest-table tbody");
  body.replaceChildren(...station.latest.map((f) => el("tr", { dataset: { code: f.code } },
    el("td", {}, factorLabel(f.name, f.code)),
    el("td", { class: f.over_limit ? "over value" : "value", text: fmtNumber(f.value) }),
    el("td", { text: f.unit || "" }),
    el("td", { class: "flag" }, f.flag ? el("span", { class: f.valid ? "" : "flag-bad", title: `数据标记 ${f.flag}`, text: f.flag_label }) : "—"),
    el("td", { title: f.limit_source || "", text: limitText(f) }))));
  if (!station.latest.length) body.replaceChildren(emptyRow(5, "这个站点还没有上报实时数据", "数采仪连接平台并上报后显示在这里"));
  document.getElementById("latest-time").textContent = `数据时间：${fmtTime(station.last_data_time)}`;
  const note = document.getElementById("limits-note");
  const unverified = station.unverified || [];
  note.hidden = !unverified.length;
  note.textContent = unverified.map((u) => u.message).join(" ");
}

async function loadStation() {
  station = await api(`/api/v1/stations/${id}`);
  applyLimits();
  factors = station.latest;
  renderHead(station);
  renderLatest();
}

function limitLines(f) {
  const lines = [];
  if (f.limit !== null && f.limit !== undefined) lines.push({ yAxis: f.limit, label: { formatter: `上限 ${fmtNumber(f.limit)}${f.limit_verified === false ? "*" : ""}` } });
  if (f.lower !== null && f.lower !== undefined) lines.push({ yAxis: f.lower, label: { formatter: `下限 ${fmtNumber(f.lower)}` } });
  return lines.length ? { symbol: "none", lineStyle: { color: "#c62828", type: "dashed" }, data: lines } : undefined;
}

function chartOption(f, s, bucketed) {
  const shift = zoneOffsetMs();
  const times = s.t.map((t) => Date.parse(t) + shift);
  const points = times.map((t, i) => [t, s.v[i]]);
  const flagged = [];
  times.forEach((t, i) => {
    const bad = bucketed ? s.flagged[i] > 0 : s.f[i] && !["N", "S", "3", "1", "n", "s"].includes(s.f[i]);
    if (bad) flagged.push({ value: [t, s.v[i] ?? s.max?.[i] ?? 0], flag: s.f[i] || "" });
  });
  return {
    animation: false,
    useUTC: true,
    title: { text: `${f.name}${f.unit ? "（" + f.unit + "）" : ""}`, left: 8, top: 4, textStyle: { fontSize: 13 } },
    grid: { left: 48, right: 16, top: 34, bottom: 28 },
    tooltip: { trigger: "axis", valueFormatter: (v) => fmtNumber(v) },
    xAxis: { type: "time" },
    yAxis: { type: "value", scale: true },
    series: [
      { name: f.name, type: "line", showSymbol: false, data: points, connectNulls: false,
        markLine: limitLines(f) },
      { name: "异常标记", type: "scatter", symbolSize: 7, itemStyle: { color: "#ef6c00" }, data: flagged,
        tooltip: { formatter: (p) => `标记 ${escapeHtml(p.data.flag)}` } },
    ],
  };
}

async function loadCharts(which) {
  const data = await api(`/api/v1/stations/${id}/series`, { query: { view: which } });
  const box = document.getElementById("charts");
  for (const c of charts.values()) c.dispose();
  charts.clear();
  box.replaceChildren();
  const bucketed = data.bucket_s > 0;
  const known = new Map(factors.map((f) => [f.code, f]));
  const codes = Object.keys(data.series);
  document.body.dataset.charts = String(codes.length);
  if (!codes.length) { box.append(el("p", { class: "muted", text: "该时段没有数据" })); return; }
  for (const code of codes) {
    const f = known.get(code) || { code, name: "未登记的因子", unit: "", limit: null };
    const node = el("div", { class: "chart", dataset: { code } });
    box.append(node);
    const chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(chartOption(f, data.series[code], bucketed));
    charts.set(code, chart);
  }
}

function setView(which) {
  view = which;
  for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.view === which);
  document.getElementById("view-rt").hidden = which !== "rt";
  document.getElementById("view-chart").hidden = which === "rt";
  if (which !== "rt") {
    loadCharts(which).catch((e) => { document.body.dataset.charts = "error"; toast(e.message, true); });
  }
}
for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => setView(b.dataset.view));
window.addEventListener("resize", () => { for (const c of charts.values()) c.resize(); });

async function loadEquipment() {
  const data = await api(`/api/v1/stations/${id}/equipment`);
  const body = document.querySelector("#equipment-table tbody");
  body.replaceChildren(...(data.latest.length ? data.latest.map((r) => el("tr", {},
    el("td", { text: r.device }), el("td", { text: r.field === "RS" ? "运行状态" : r.field === "RT" ? "运行时间" : r.field }),
    el("td", { text: r.value ?? "—" }), el("td", { text: fmtTime(r.ts) }))) : [el("tr", {}, el("td", { colspan: 4, class: "muted", text: "近24小时无设备状态" }))]));
}

let packetOffset = 0;
async function loadPackets(more = false) {
  if (!more) packetOffset = 0;
  const data = await api(`/api/v1/stations/${id}/packets`, { query: { limit: 20, offset: packetOffset } });
  const body = document.querySelector("#packets-table tbody");
  const rows = data.items.map((p) => el("tr", {}, el("td", { text: fmtTime(p.data_time) }),
    el("td", {}, String(p.cn), p.backfill ? el("span", { class: "flag-bad", title: "RF=1：数采仪补传的历史数据", text: " 补传" }) : ""),
    el("td", { text: fmtTime(p.received_at) }), el("td", {}, el("code", { translate: "no", text: p.raw.trim() }))));
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  if (!more && !rows.length) body.replaceChildren(emptyRow(4, "还没有收到这个站点的数据包"));
  packetOffset += data.items.length;
  document.getElementById("packets-more").hidden = packetOffset >= data.total;
}
document.getElementById("packets-more").addEventListener("click", () => loadPackets(true));

const STATUS_ZH = { queued: "排队", sent: "已发送", accepted: "已受理", rejected: "被拒绝", succeeded: "成功", failed: "失败", expired: "超时", cancelled: "已取消" };
async function loadCommands() {
  const data = await api(`/api/v1/stations/${id}/commands`, { query: { limit: 10 } });
  const body = document.querySelector("#commands-table tbody");
  body.replaceChildren(...data.items.map((c) => el("tr", {},
    el("td", { text: fmtTime(c.created_at) }),
    el("td", { title: `CN ${c.cn}` }, c.cn_name, " ", fieldsCode(c.params)),
    el("td", { text: STATUS_ZH[c.status] || c.status }),
    el("td", {}, ...(c.replies || []).flatMap((r, i) => [i ? "；" : "", el("span", { title: `CN ${r.cn}`, text: r.cn_name }),
      r.result ? `：${r.result} ` : " ", fieldsCode(r.fields, ["QnRtn", "ExeRtn"])]), c.replies && c.replies.length ? null : "—"))));
  if (!data.items.length) body.replaceChildren(emptyRow(4, "还没有向这个站点下发过命令"));
}

/** Protocol fields as sent (``key=value``), marked as code: what a maintainer compares with the logger. */
function fieldsCode(fields, told = []) {
  const parts = Object.entries(fields || {}).filter(([k]) => !told.includes(k)).map(([k, v]) => `${k}=${v}`);
  return parts.length ? el("code", { translate: "no", text: parts.join(" ") }) : null;
}

async function setupCommands() {
  if (!config.canCommand) return;
  const verbs = await api("/api/v1/commands");
  const sel = document.getElementById("cmd-verb");
  const wanted = ["set-time", "get-time", "set-rtd-interval", "get-rtd-interval", "set-min-interval", "history-minute", "history-hour", "history-day", "start-rtd", "stop-rtd"];
  const ZH = { "set-time": "校时", "get-time": "读取时间", "set-rtd-interval": "设置实时数据间隔", "get-rtd-interval": "读取实时数据间隔",
    "set-min-interval": "设置分钟数据间隔", "history-minute": "补传分钟数据", "history-hour": "补传小时数据", "history-day": "补传日数据",
    "start-rtd": "开始实时数据", "stop-rtd": "停止实时数据" };
  for (const v of verbs.filter((v) => wanted.includes(v.verb))) {
    sel.append(el("option", { value: v.verb, text: `${ZH[v.verb] || v.verb}（${v.cn}）`, title: v.params.join(", ") }));
  }
  const form = document.getElementById("command-form");
  form.hidden = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const params = {};
    for (const part of document.getElementById("cmd-params").value.split(/[\s,;]+/).filter(Boolean)) {
      const [k, ...rest] = part.split("=");
      params[k] = rest.join("=");
    }
    try {
      const c = await api(`/api/v1/stations/${id}/commands`, { method: "POST", body: { verb: sel.value, params } });
      toast(`命令已排队（编号 ${c.id}）`);
      loadCommands();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        const now = await api(`/api/v1/commands/${c.id}`);
        if (["succeeded", "failed", "rejected", "expired", "cancelled"].includes(now.status)) { loadCommands(); break; }
      }
    } catch (e) { toast(e.message, true); }
  });
}

function onReadings(msg) {
  if (!station) return; // the page is still loading: the detail will be current
  let changed = false;
  let flagChanged = false;
  for (const [sid, code, kind, , value, flag] of msg.items) {
    if (sid !== id || kind !== "r") continue;
    const f = station.latest.find((x) => x.code === code);
    if (f) {
      // a new flag's name comes with the station's detail (the flag tables live on the server)
      if ((flag || "N") !== f.flag) flagChanged = true;
      f.value = value;
      f.over_limit = (f.limit !== null && f.limit !== undefined && value > f.limit) || (f.lower !== null && f.lower !== undefined && value < f.lower);
      changed = true;
    }
    station.last_data_time = new Date(msg.t * 1000).toISOString();
  }
  if (flagChanged) loadStation().catch((e) => toast(e.message, true));
  else if (changed && view === "rt") renderLatest();
}

let alertTimer = null;
function onAlert() {
  if (!alertTimer) alertTimer = setTimeout(() => { alertTimer = null; loadAlerts().catch(() => {}); }, 500);
}

loadStation()
  .then(() => { document.body.dataset.ready = "1"; return loadLimits(); })
  .then(() => { document.body.dataset.limits = "1"; })
  .catch((e) => toast(e.message, true));
loadAlerts().catch(() => {});
loadEquipment().catch(() => {});
loadPackets().catch(() => {});
loadCommands().catch(() => {});
setupCommands().catch(() => {});
liveStream({ station: id }, { readings: onReadings, alert: onAlert, resync: () => loadStation() });
