// Station page, HJ 212-2025 records (web/templates/_station_2025.html): the last 24 h of
// 2111 furnace temperature means, 2062 standard-sample checks, 2013 raw data and 2052
// single noise measurements, from /api/v1/stations/{id}/records.  Factor names follow the
// station's edition (2025: 废气温度 …; 2017: 烟气温度 …): the codes, and so the series, are
// the same.  The panel stays hidden while the station has no such record.
import { api, config, el, factorLabel, fmtTime, fmtNumber, toast, emptyRow } from "./common.js";

const $ = (id) => document.getElementById(id);
const CNS = [2111, 2062, 2013, 2052];
const RESULT = { 1: "合格", 0: "不合格" };
const SAMPLE_TYPE = { 1: "自动", 0: "手动" };
let current = 2111;

function details(cn, fields) {
  const f = fields || {};
  if (cn === 2062) {
    const result = RESULT[f.ResultType] ?? f.ResultType ?? "—";
    return el("span", { class: f.ResultType === "0" ? "bad" : "" },
      `标准值 ${f.StandardValue ?? "—"} · 结果 ${result}`);
  }
  if (cn === 2013) {
    return `采样 ${f.SampleTime ?? "—"} · 完成 ${f.CompleteTime ?? "—"} · 方式 ${SAMPLE_TYPE[f.SampleType] ?? f.SampleType ?? "—"} · 标记 ${f.Flag ?? "—"}`;
  }
  const rest = Object.entries(f).map(([k, v]) => `${k}=${v}`).join(" ");
  return rest || "—";
}

async function show(cn) {
  current = cn;
  for (const b of $("records-2025-tabs").querySelectorAll("button")) {
    b.classList.toggle("active", Number(b.dataset.cn) === cn);
  }
  const page = await api(`/api/v1/stations/${config.stationId}/records`, { query: { cn, limit: 200 } });
  $("records-2025-table").tBodies[0].replaceChildren(...page.items.map((r) => el("tr", {},
    el("td", { text: fmtTime(r.ts) }),
    el("td", {}, factorLabel(r.name_zh, r.code)),
    el("td", { text: r.value === null ? "—" : fmtNumber(r.value) }),
    el("td", {}, details(cn, r.fields)),
    el("td", { text: fmtTime(r.received_at) + (r.backfill ? " · 补传" : "") }))));
  if (!page.items.length) $("records-2025-table").tBodies[0].replaceChildren(emptyRow(6, "近24小时没有收到这类记录", "数采仪按 HJ 212-2025 上报后显示在这里，可切换上方的记录类型"));
  $("records-2025-note").textContent = page.total > page.items.length
    ? `近24小时共 ${page.total} 条，显示最新 ${page.items.length} 条` : `近24小时共 ${page.total} 条`;
  return page;
}

async function load() {
  const panel = $("records-2025-panel");
  if (!panel || !config.stationId) return;
  const any = await api(`/api/v1/stations/${config.stationId}/records`, { query: { limit: 1 } });
  if (any.total === 0 && any.edition !== "2025") return;
  panel.hidden = false;
  const first = any.items.length ? any.items[0].cn : 2111;
  for (const b of $("records-2025-tabs").querySelectorAll("button")) {
    b.addEventListener("click", () => show(Number(b.dataset.cn)).catch((e) => toast(e.message, true)));
  }
  await show(CNS.includes(first) ? first : current);
}
load().catch((e) => toast(e.message, true));
