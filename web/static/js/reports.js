// Reports: choose scope, period and factors; the report is built as a background job
// (progress by polling); preview tables and charts; export XLSX/PDF/DOCX/PNG/CSV.
import { api, config, el, toast, download, addDays } from "./common.js";
import { emptyRow, emptyChartOption } from "./common.js";

/* global echarts */
const $ = (id) => document.getElementById(id);
let job = null;
const charts = [];

function setScope() {
  const scope = $("rp-scope").value;
  $("rp-station").hidden = scope !== "station";
  $("rp-region").hidden = scope !== "region";
  $("rp-grid").hidden = scope !== "grid";
}

function setPeriod() { $("rp-end-box").hidden = $("rp-period").value !== "custom"; }

function key() {
  const scope = $("rp-scope").value;
  if (scope === "region") return $("rp-region").value;
  if (scope === "grid") return $("rp-grid").value;
  const typed = $("rp-station").value.trim();
  const m = /（([A-Za-z0-9]+)）$/.exec(typed);
  return m ? m[1] : typed;
}

let searchTimer = null;
$("rp-station").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const q = key();
    const data = await api("/api/v1/stations", { query: { q, limit: 20 } }).catch(() => ({ items: [] }));
    $("rp-stations").replaceChildren(...data.items.map((s) => el("option", { value: `${s.name}（${s.mn}）` })));
  }, 250);
});

function renderTable(t) {
  const head = el("tr", {}, ...t.columns.map((c) => el("th", { text: c.unit ? `${c.title}（${c.unit}）` : c.title })));
  const rows = [...t.text.map((r) => [r, false]), ...t.summary_text.map((r) => [r, true])];
  const body = rows.length ? rows.map(([r, bold]) => el("tr", { class: bold ? "summary" : "" },
    ...r.map((v) => el("td", { text: v })))) : [emptyRow(t.columns.length, "该时段没有数据", "请换一个时段或站点")];
  return el("div", { class: "report-table" }, el("h3", { text: t.name }),
    el("div", { class: "table-wrap" }, el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, body))));
}

function renderCharts(list) {
  for (const c of charts) c.dispose();
  charts.length = 0;
  const box = $("rp-charts");
  box.replaceChildren();
  const seen = new Set();
  for (const kind of ["line", "bar", "pie"]) {
    const c = list[kind];
    if (!c || seen.has(JSON.stringify(c))) continue;
    seen.add(JSON.stringify(c));
    const node = el("div", { class: "chart", dataset: { kind } });
    box.append(node);
    const chart = echarts.init(node, null, { renderer: "canvas" });
    const names = Object.keys(c.series);
    const option = c.kind === "pie"
      ? { series: [{ type: "pie", radius: "60%", data: c.categories.map((cat, i) => ({ name: cat, value: c.series[names[0]][i] })) }] }
      : {
        grid: { left: 48, right: 16, top: 34, bottom: 40 },
        xAxis: { type: "category", data: c.categories },
        yAxis: { type: "value" },
        series: names.map((n) => ({ name: n, type: c.kind, connectNulls: false,
          data: c.series[n].map((v, i) => (c.colors && c.kind === "bar" ? { value: v, itemStyle: { color: c.colors[i] } } : v)) })),
      };
    const blank = names.every((n) => c.series[n].every((v) => v === null || v === undefined));
    if (blank) chart.setOption(emptyChartOption(`${c.title}：该时段没有数据`));
    else chart.setOption({ animation: false, title: { text: c.title, left: 8, top: 4, textStyle: { fontSize: 13 } }, tooltip: { trigger: c.kind === "pie" ? "item" : "axis" }, ...option });
    charts.push(chart);
  }
}

function renderPreview(p) {
  $("rp-result").hidden = false;
  $("rp-title").textContent = p.title + (p.unverified.length ? "*" : "");
  $("rp-subtitle").textContent = `${p.subtitle} · 生成于 ${p.generated_at.slice(0, 16).replace("T", " ")}`;
  $("rp-unverified").hidden = !p.unverified.length;
  $("rp-unverified").textContent = p.unverified.map((u) => u.message).join(" ");
  $("rp-tables").replaceChildren(...p.tables.map(renderTable));
  renderCharts(p.charts);
  $("rp-notes").replaceChildren(...p.notes.map((n) => el("li", { text: n })));
  $("rp-export").hidden = !config.canExport;
}

async function poll(id) {
  for (;;) {
    const state = await api(`/api/v1/reports/${id}`);
    $("rp-progress").value = state.progress;
    $("rp-status").textContent = `${state.message} ${Math.round(state.progress * 100)}%`;
    if (state.status === "done") return state;
    if (state.status === "failed") throw new Error(state.error || "报表生成失败");
    await new Promise((r) => setTimeout(r, 300));
  }
}

$("rp-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const factors = [...$("rp-factors").querySelectorAll("input:checked")].map((i) => i.value);
  const body = { scope: $("rp-scope").value, key: key(), period: $("rp-period").value, day: $("rp-day").value };
  if (body.period === "custom") body.end = $("rp-end").value;
  if (factors.length) body.factors = factors;
  if ($("rp-audit-log").checked) body.audit_log = true;
  $("rp-run").disabled = true;
  $("rp-progress").hidden = false;
  $("rp-progress").value = 0;
  document.body.dataset.report = "running";
  try {
    const started = await api("/api/v1/reports", { method: "POST", body });
    job = started.id;
    const done = await poll(job);
    renderPreview(done.preview);
    $("rp-status").textContent = `已生成（用时 ${done.elapsed_s} 秒）`;
    document.body.dataset.report = "done";
  } catch (e) {
    $("rp-status").textContent = e.message;
    toast(e.message, true);
    document.body.dataset.report = "failed";
  } finally {
    $("rp-run").disabled = false;
    $("rp-progress").hidden = true;
  }
});

for (const b of $("rp-export").querySelectorAll("button")) {
  b.addEventListener("click", async () => {
    if (!job) return;
    b.disabled = true;
    try {
      const query = { format: b.dataset.format };
      if (b.dataset.format === "png") query.chart = $("rp-chart").value;
      toast(`已下载 ${await download(`/api/v1/reports/${job}/export`, query)}`);
    } catch (e) { toast(e.message, true); }
    finally { b.disabled = false; }
  });
}

$("rp-scope").addEventListener("change", setScope);
$("rp-period").addEventListener("change", setPeriod);
window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

async function init() {
  $("rp-day").value = addDays(config.today, -1);
  $("rp-end").value = addDays(config.today, -1);
  const [regions, areas] = await Promise.all([api("/api/v1/regions"), api("/api/v1/areas")]);
  $("rp-region").replaceChildren(...regions.map((r) => el("option", { value: r, text: r })));
  $("rp-grid").replaceChildren(...areas.map((a) => el("option", { value: a.code, text: `${"　".repeat(Math.max(0, a.level - 1))}${a.name}（${a.code}）` })));
  setScope();
  setPeriod();
  document.body.dataset.ready = "1";
}
init().catch((e) => toast(e.message, true));
