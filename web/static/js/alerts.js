// Alerts: open and recent alerts with filters, live updates, acknowledge/resolve inline.
import { api, config, el, fmtTime, liveStream, toast, emptyRow, FILTERED_EMPTY } from "./common.js";
import { alertPlace, alertValue } from "./alert_format.js";

const $ = (id) => document.getElementById(id);
const SEVERITY_CLASS = { critical: "sev-critical", major: "sev-major", warning: "sev-warning", info: "sev-info" };
let state = "open";
let offset = 0;
const LIMIT = 50;
const stationFilter = new URLSearchParams(location.search).get("station") || "";

function query() {
  return {
    state, station: stationFilter, rule: $("al-rule").value, severity: $("al-severity").value, region: $("al-region").value,
    from: $("al-from").value ? `${$("al-from").value}T00:00:00+08:00` : "", limit: LIMIT, offset,
  };
}

async function act(a, action) {
  try {
    await api(`/api/v1/alerts/${a.id}/${action}`, { method: "POST", body: {} });
    toast(action === "ack" ? `已确认告警 #${a.id}` : `已解除告警 #${a.id}`);
    load();
  } catch (e) { toast(e.message, true); }
}

function row(a) {
  const actions = [];
  if (config.canAck && a.state === "firing") actions.push(el("button", { class: "secondary small", type: "button", text: "确认", dataset: { action: "ack", id: a.id }, onclick: () => act(a, "ack") }));
  if (config.canAck && a.state !== "resolved") actions.push(el("button", { class: "secondary small", type: "button", text: "解除", dataset: { action: "resolve", id: a.id }, onclick: () => act(a, "resolve") }));
  return el("tr", { dataset: { id: a.id, state: a.state } },
    el("td", {}, el("span", { class: `sev ${SEVERITY_CLASS[a.severity] || ""}`, text: a.severity_zh }), " ",
      el("a", { href: `/alerts/${a.id}`, text: `${a.rule_zh}${a.factor_name ? " · " + a.factor_name : ""}` })),
    el("td", { "data-label": "位置" }, a.station_id ? el("a", { href: `/stations/${a.station_id}`, text: alertPlace(a) }) : alertPlace(a)),
    el("td", { "data-label": "数值", text: alertValue(a) }),
    el("td", { "data-label": "发生", text: fmtTime(a.first_seen) }),
    el("td", { "data-label": "状态" }, el("span", { class: `badge state-${a.state}`, text: a.state_zh })),
    el("td", { "data-label": "处理人", text: a.assignee || "—" }),
    el("td", { class: "actions" }, ...actions));
}

async function load(more = false) {
  if (!more) offset = 0;
  const data = await api("/api/v1/alerts", { query: query() });
  const body = $("al-table").tBodies[0];
  const rows = data.items.map(row);
  if (more) body.append(...rows);
  else {
    const q = query();
    const filtered = [q.station, q.rule, q.severity, q.region, q.from].some(Boolean);
    body.replaceChildren(...(rows.length ? rows : [filtered
      ? emptyRow(7, FILTERED_EMPTY, "请放宽站点、规则、级别、区县或日期筛选")
      : emptyRow(7, "没有这一状态的告警", "告警由监测数据按规则自动产生，可切换上方的状态查看")]));
  }
  offset += data.items.length;
  $("al-more").hidden = offset >= data.total;
  $("al-total").textContent = `共 ${data.total} 条`;
  document.body.dataset.alerts = String(data.total);
  const s = await api("/api/v1/alert-summary");
  $("al-summary").textContent = `未恢复 ${s.open}（告警中 ${s.by_state.firing || 0} · 已确认 ${s.by_state.acknowledged || 0}）`;
}

for (const b of $("al-states").querySelectorAll("button")) {
  b.addEventListener("click", () => {
    state = b.dataset.state;
    for (const x of $("al-states").querySelectorAll("button")) x.classList.toggle("active", x === b);
    load();
  });
}
for (const id of ["al-rule", "al-severity", "al-region", "al-from"]) $(id).addEventListener("change", () => load());
$("al-more").addEventListener("click", () => load(true));

async function init() {
  for (const [k, v] of Object.entries(config.rules)) $("al-rule").append(el("option", { value: k, text: v }));
  for (const [k, v] of Object.entries(config.severities)) $("al-severity").append(el("option", { value: k, text: v }));
  const regions = await api("/api/v1/regions").catch(() => []);
  for (const r of regions) $("al-region").append(el("option", { value: r, text: r }));
  await load();
  document.body.dataset.ready = "1";
}
init().catch((e) => toast(e.message, true));

let pending = null;
liveStream({}, {
  alert: () => { if (!pending) pending = setTimeout(() => { pending = null; load().catch(() => {}); }, 800); },
  resync: () => load().catch(() => {}),
}, $("live-state"));
