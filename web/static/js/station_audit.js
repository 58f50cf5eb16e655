// Station page, 数据审核 panel: one factor's official hours, raw (原始值) and audited
// (审核后) side by side, audited hours marked; with data:audit, a range selected on the
// chart (brush) or typed fills the form, then 标记无效 / 恢复.
import { api, config, el, toast, zoneOffsetMs } from "./common.js";
import { logRow, localText, wallToIso } from "./audit_common.js";

/* global echarts */
const id = config.stationId;
const HOUR = 3600000;
const $ = (sel) => document.getElementById(sel);
let chart = null;

function today() {
  return localText(Date.now()).slice(0, 10);
}

function setRange(lo, hi) {
  // floor both ends to whole hours of the platform's clock; the last hour is included
  const floor = (ms) => Math.floor(ms / HOUR) * HOUR;
  $("audit-from").value = localText(floor(lo)).replace(" ", "T");
  $("audit-to").value = localText(floor(hi)).replace(" ", "T");
}

function render(series) {
  const f = series[0];
  const hours = f ? f.hours : [];
  const shift = (ts) => Date.parse(ts) + zoneOffsetMs(Date.parse(ts));
  const raw = hours.map((h) => [shift(h.ts), h.value]);
  const audited = hours.map((h) => [shift(h.ts), h.valid ? h.value : null]);
  const marked = hours.filter((h) => h.audited).map((h) => [shift(h.ts), h.value]);
  const n = hours.filter((h) => h.audited).length;
  $("audit-summary").textContent = f
    ? `${f.name || f.code}：${hours.length} 个小时值，已标记无效 ${n} 个；审核后无效的小时在日均值、AQI 与报表中按缺测处理。`
    : "所选时段没有小时数据";
  if (typeof echarts === "undefined") return;
  chart = chart || echarts.init($("audit-chart"), null, { useUTC: true });
  chart.setOption({
    useUTC: true,
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: ["原始值", "审核后", "已标记无效"] },
    toolbox: config.canAudit ? { feature: { brush: { type: ["lineX", "clear"], title: { lineX: "选择时间范围", clear: "清除选择" } } } } : {},
    brush: config.canAudit ? { xAxisIndex: 0, brushType: "lineX", brushMode: "single" } : undefined,
    xAxis: { type: "time" },
    yAxis: { type: "value", name: f ? f.unit : "" },
    series: [
      { name: "原始值", type: "line", data: raw, showSymbol: false, lineStyle: { type: "dashed" } },
      { name: "审核后", type: "line", data: audited, connectNulls: false },
      { name: "已标记无效", type: "scatter", data: marked, itemStyle: { color: "#d9001b" }, symbolSize: 8 },
    ],
  }, true);
}

async function loadLog() {
  if (!config.canAudit) return;
  const data = await api("/api/v1/audit/log", { query: { station: id, limit: 50 } });
  $("audit-log-wrap").hidden = false;
  $("audit-log-table").querySelector("tbody").replaceChildren(...data.items.map((e) => logRow(e)));
}

async function load() {
  const day = $("audit-day").value || today();
  const days = Math.max(1, Math.min(31, Number($("audit-days").value) || 1));
  const from = wallToIso(`${day}T00:00`);
  const to = new Date(Date.parse(from) + days * 24 * HOUR).toISOString();
  const factor = $("audit-factor").value;
  const data = await api(`/api/v1/stations/${id}/audit/hours`, { query: { from, to, factor } });
  render(data.series);
}

async function act(action) {
  const from = $("audit-from").value;
  const to = $("audit-to").value;
  if (!from || !to) { toast("请先在图上框选或填写时间范围", true); return; }
  const body = {
    action, from: wallToIso(from), to: wallToIso(to),
    factors: $("audit-all").checked ? [] : [$("audit-factor").value],
    reason: $("audit-reason").value.trim(), note: $("audit-note").value.trim(),
  };
  try {
    const e = await api(`/api/v1/stations/${id}/audit`, { method: "POST", body });
    toast(`${action === "invalidate" ? "已标记无效" : "已恢复"} ${e.n_changed} 个小时值，官方日均值将在下次统计刷新时更新`);
    await Promise.all([load(), loadLog()]);
  } catch (err) {
    toast(err.message, true);
  }
}

async function init() {
  const st = await api(`/api/v1/stations/${id}`);
  const sel = $("audit-factor");
  for (const f of st.latest || []) sel.append(el("option", { value: f.code, text: f.name || f.code }));
  $("audit-day").value = today();
  $("audit-query").addEventListener("submit", (ev) => { ev.preventDefault(); load().catch((e) => toast(e.message, true)); });
  if (config.canAudit) {
    $("audit-form").hidden = false;
    $("audit-invalidate").addEventListener("click", () => act("invalidate"));
    $("audit-restore").addEventListener("click", () => act("restore"));
  }
  await load();
  if (chart) {
    chart.on("brush", (p) => {
      const area = (p.areas || [])[0];
      if (!area || !area.coordRange) return;
      const [lo, hi] = area.coordRange;  // shifted wall-clock ms, like the data
      setRange(lo - zoneOffsetMs(lo), hi - zoneOffsetMs(hi));
    });
  }
  await loadLog();
}

init().catch((e) => toast(e.message, true));
