// Rankings: AQI / composite index / one factor of stations, regions or grids, for a day,
// the last 7 days (daily values), the last 3 months (monthly) or a custom range; export.
import { api, config, el, fmtNumber, aqiChip, toast, addDays, download, emptyRow, emptyChartOption } from "./common.js";

/* global echarts */
const $ = (id) => document.getElementById(id);
let period = "7d";
let chart = null;
const SCOPE_ZH = { station: "站点", region: "区域", grid: "网格" };

function query() {
  const q = { by: $("rk-by").value, scope: $("rk-scope").value, period };
  if (period === "custom") { q.from = $("rk-from").value; q.to = $("rk-to").value; }
  else if ($("rk-day").value) q.day = $("rk-day").value;
  return q;
}

// Why the ranking has no values, and when it will (the daily values' refresh job).
export function emptyReason(view) {
  const r = view.refresh || {};
  const when = r.every_min ? `排名每 ${r.every_min} 分钟更新，下次 ${r.next_label}` : "";
  if (view.scope_empty) return ["您的数据范围内没有站点", "请联系管理员为您分配区域或网格"];
  if (!view.rows.length) return [`没有可排名的${SCOPE_ZH[view.scope]}`, "站点接入并上报数据后会出现在这里"];
  return [`${view.label}还没有有效的${view.by_label}数值`, when || "请换一个时段"];
}

function valueCell(view, row, value) {
  if (value === null || value === undefined) return el("td", { class: "muted", title: "无有效数值", text: "—" });
  if (view.by === "aqi") {
    const color = row.detail.color || "#999999";
    return el("td", {}, aqiChip(value, color, row.detail.category));
  }
  return el("td", { text: view.by === "aqci" ? value.toFixed(2) : fmtNumber(value) });
}

function render(view) {
  const star = view.unverified.length ? "*" : "";
  const std = view.standard_label ? `（${view.standard_label}）` : "";
  const rule = view.standards.text ? ` · ${view.by === "aqi" ? "AQI" : "综合指数"} ${view.standards.text}` : "";
  $("rk-label").textContent = `${SCOPE_ZH[view.scope]}${view.by_label}${star}排名 · ${view.label} · 共 ${view.total} 个${rule}`;
  const notice = $("rk-unverified");
  notice.hidden = !view.unverified.length;
  notice.replaceChildren(...view.unverified.map((u) => el("p", { dataset: { standard: u.code } },
    el("strong", { class: "mark-unverified", text: `${u.mark}` }), ` ${u.code}：${u.reason}。标 * 的数值仅供参考。`)));
  const unit = view.unit ? `（${view.unit}）` : "";
  $("rk-table").tHead.replaceChildren(el("tr", {},
    el("th", { text: "排名" }), el("th", { text: "名称" }),
    el("th", { text: `${view.by_label}${std}${star}${unit}` }),
    view.by === "aqi" ? el("th", { text: "首要污染物" }) : null,
    ...view.columns.map((c) => el("th", { text: c.label }))));
  const body = $("rk-table").tBodies[0];
  const ranked = view.rows.filter((r) => r.value !== null).slice(0, 30);
  const [why, hint] = emptyReason(view);
  if (!view.rows.length) {
    body.replaceChildren(emptyRow(4 + view.columns.length, why, hint));
  } else {
    body.replaceChildren(...view.rows.map((r) => el("tr", { dataset: { key: r.key, rank: r.rank ?? "" } },
      el("td", { class: "rank", title: r.rank === null ? "无有效数值，不参与排名" : "", text: r.rank ?? "—" }),
      el("td", { class: "name", text: r.name }),
      valueCell(view, r, r.value),
      view.by === "aqi" ? el("td", { text: r.detail.primary_note || "—" }) : null,
      ...r.series.map((v) => valueCell(view, r, v)))));
  }
  const emptyNotice = $("rk-empty");
  emptyNotice.hidden = !!ranked.length;
  emptyNotice.textContent = ranked.length ? "" : hint ? `${why}。${hint}` : why;
  if (!chart) chart = echarts.init($("rk-chart"), null, { renderer: "canvas" });
  if (!ranked.length) chart.setOption(emptyChartOption(why), true);
  else chart.setOption({
    animation: false,
    title: { text: `${view.by_label}${star}（前 ${ranked.length} 名）`, left: 8, top: 4, textStyle: { fontSize: 13 } },
    grid: { left: 90, right: 20, top: 34, bottom: 20 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "value" },
    yAxis: { type: "category", inverse: true, data: ranked.map((r) => r.name), axisLabel: { width: 80, overflow: "truncate" } },
    series: [{ type: "bar", data: ranked.map((r) => ({ value: r.value, itemStyle: { color: r.detail.color || "#0b6e4f" } })) }],
  }, true);
  document.body.dataset.rows = String(view.rows.length);
  document.body.dataset.view = `${view.period}:${view.by}:${view.scope}`;
}

async function load() {
  document.body.dataset.loading = "1";
  try { render(await api("/api/v1/rankings", { query: query() })); }
  catch (e) { toast(e.message, true); }
  finally { delete document.body.dataset.loading; }
}

function setPeriod(p) {
  period = p;
  for (const b of $("rk-periods").querySelectorAll("button")) b.classList.toggle("active", b.dataset.period === p);
  $("rk-custom").hidden = p !== "custom";
  $("rk-day-box").hidden = p === "custom";
}

for (const b of $("rk-periods").querySelectorAll("button")) b.addEventListener("click", () => { setPeriod(b.dataset.period); load(); });
$("rk-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
for (const id of ["rk-by", "rk-scope"]) $(id).addEventListener("change", load);
if (config.canExport) {
  $("rk-export").hidden = false;
  for (const b of $("rk-export").querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { toast(`已下载 ${await download("/api/v1/rankings/export", { ...query(), format: b.dataset.format })}`); }
      catch (e) { toast(e.message, true); }
      finally { b.disabled = false; }
    });
  }
}
window.addEventListener("resize", () => chart && chart.resize());
$("rk-to").value = $("rk-day").value = addDays(config.today, -1);
$("rk-from").value = addDays(config.today, -30);
setPeriod("7d");
load().then(() => { document.body.dataset.ready = "1"; });
