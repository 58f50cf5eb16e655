// 案件考核: indicators per unit / grid / person / area for a month, chart, exports.
import { api, config, el, toast, emptyRow } from "./common.js";
import { badge, pct, ready } from "./cases_common.js";

/* global echarts */
const actor = config.actor || {};
const month = document.getElementById("a-month");
const group = document.getElementById("a-group");
const level = document.getElementById("a-level");
const now = new Date();
month.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
(config.levelNames || []).forEach((name, i) => { if (i > 0 && i < 4) level.append(el("option", { value: i + 1, text: `按${name}` })); });
const chart = typeof echarts !== "undefined" ? echarts.init(document.getElementById("a-chart")) : null;
const CARD = { red: ["红牌", "red"], yellow: ["黄牌", "yellow"] };

function query() {
  const q = { month: month.value, group: group.value };
  if (group.value === "area") q.level = level.value;
  return q;
}

function exports() {
  const box = document.getElementById("exports");
  if (!actor.canExport) { box.replaceChildren(); return; }
  const qs = new URLSearchParams(query());
  box.replaceChildren(...["xlsx", "csv", "pdf"].map((fmt) => {
    qs.set("format", fmt);
    return el("a", { class: "btn", href: `/api/v1/assessment/export?${qs}`, download: "", dataset: { format: fmt }, text: `导出 ${fmt.toUpperCase()}` });
  }));
}

async function load() {
  level.hidden = group.value !== "area";
  exports();
  const data = await api("/api/v1/assessment", { query: query() });
  const t = data.total;
  document.getElementById("a-total").replaceChildren(...(t ? [
    ["应结案", t.due], ["结案", t.closed], ["按期结案", t.on_time], ["超期", t.overdue],
    ["按期结案率", pct(t.on_time_rate)], ["结案率", pct(t.closure_rate)], ["返工率", pct(t.rework_rate)],
    ["自动恢复", t.auto_recovered],
  ] : [["应结案", 0]]).map(([k, v]) => el("div", { class: "counter" }, el("b", { text: String(v) }), k)));
  document.querySelector("#a-table tbody").replaceChildren(...data.rows.map((r) => el("tr", { class: r.card ? `card-${r.card}` : "" },
    el("td", { text: r.name }), el("td", { text: r.due }), el("td", { text: r.hung }), el("td", { text: r.closed }),
    el("td", { text: r.on_time }), el("td", { text: r.overdue }), el("td", { text: r.rework }),
    el("td", { text: r.auto_recovered }), el("td", { text: pct(r.on_time_rate) }), el("td", { text: pct(r.closure_rate) }), el("td", { text: pct(r.rework_rate) }),
    el("td", {}, r.card ? badge(...CARD[r.card]) : ""))));
  if (!data.rows.length) document.querySelector("#a-table tbody").replaceChildren(emptyRow(13, `${data.period.label}没有应结案的案件`, "请换一个考核周期或分组"));
  const th = data.thresholds;
  document.getElementById("a-note").textContent =
    `${data.scope_label} · ${data.period.label}。按期结案率 = 按期结案数 /（应结案数 − 缓办数）；` +
    `应结案 − 缓办 ≥ ${th.min_cases} 件时，按期结案率低于 ${th.red_below * 100}% 为红牌、低于 ${th.yellow_below * 100}% 为黄牌。` +
    "自动恢复：告警短时内全部恢复、无人处理而自动结案的监测告警案件，单独统计，不计入应结案。";
  if (chart) {
    const rows = data.rows.filter((r) => r.on_time_rate !== null);
    chart.setOption({
      title: { text: `按期结案率（${data.group_label}）`, left: "center", textStyle: { fontSize: 14 } },
      grid: { left: 50, right: 20, top: 40, bottom: 70 },
      tooltip: { trigger: "axis", valueFormatter: (v) => `${v}%` },
      xAxis: { type: "category", data: rows.map((r) => r.name), axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ type: "bar", data: rows.map((r) => ({ value: Math.round(r.on_time_rate * 1000) / 10,
        itemStyle: { color: r.card === "red" ? "#c62828" : r.card === "yellow" ? "#f9a825" : "#0b6e4f" } })) }],
    }, true);
  }
  document.body.dataset.rows = String(data.rows.length);
}
for (const input of [month, group, level]) input.addEventListener("change", () => load().catch((e) => toast(e.message, true)));
window.addEventListener("resize", () => chart && chart.resize());
load().then(ready).catch((e) => { toast(e.message, true); ready(); });
