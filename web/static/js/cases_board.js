// 案件看板: the open cases by phase (columns sorted by the running deadline), counters,
// filters; the "已结束" view lists closed and ended cases.
import { api, config, el, toast, fmtTime, withCode, emptyRow, FILTERED_EMPTY } from "./common.js";
import { caseCard, badge, ready } from "./cases_common.js";

const actor = config.actor || {};
if (actor.canWrite && ["admin", "officer", "grid_member"].includes(actor.role)) {
  document.getElementById("new-case").hidden = false;
}
if (config.calendarWarning) {
  const warn = document.getElementById("calendar-warning");
  warn.replaceChildren(...withCode(config.calendarWarning), " ", el("a", { href: "/work-calendar", text: "查看工作日历" }));
  warn.hidden = false;
}
const f = { category: "", source: "", q: "", overdue: "", supervised: "" };
let view = "board";
let closedOffset = 0;

async function loadCategories() {
  const sel = document.getElementById("f-category");
  for (const c of await api("/api/v1/cases/categories")) sel.append(el("option", { value: c.code, text: c.name }));
}

function counter(label, value, bad = false) {
  return el("div", { class: `counter${bad && value ? " bad" : ""}` }, el("b", { text: String(value) }), label);
}

async function loadBoard() {
  const data = await api("/api/v1/cases/board", { query: { ...f, per_column: 20 } });
  const now = Date.now();
  const c = data.counts;
  document.getElementById("counters").replaceChildren(
    counter("未结案", c.open), counter("超期", c.overdue, true), counter("督办", c.supervised, true));
  document.getElementById("board").replaceChildren(...data.columns.map((col) =>
    el("section", { class: "board-col", dataset: { column: col.key }, "aria-label": col.label },
      el("h2", {}, col.label, el("span", { class: "count", text: String(col.total) })),
      col.items.length ? col.items.map((item) => caseCard(item, now)) : el("p", { class: "muted empty-state", text: Object.values(f).some(Boolean) ? FILTERED_EMPTY : "没有这一阶段的案件" }),
      col.total > col.items.length
        ? el("a", { class: "more", href: `/cases/mine`, text: `还有 ${col.total - col.items.length} 件…` }) : null)));
  document.body.dataset.cases = String(c.open);
}

async function loadClosed(append = false) {
  if (!append) closedOffset = 0;
  const data = await api("/api/v1/cases", { query: { ...f, open: "false", limit: 50, offset: closedOffset } });
  const body = document.querySelector("#closed-table tbody");
  const rows = data.items.map((c) => el("tr", {},
    el("td", {}, el("a", { href: `/cases/${c.id}`, text: c.code })), el("td", { text: c.title }),
    el("td", {}, badge(c.state_label, "state")), el("td", { text: c.grid_name || "—" }),
    el("td", { text: c.unit_name || "—" }), el("td", { text: fmtTime(c.reported_at) })));
  if (append) body.append(...rows); else body.replaceChildren(...rows);
  if (!append && !rows.length) body.replaceChildren(Object.values(f).some(Boolean) ? emptyRow(7, FILTERED_EMPTY, "请放宽类别、来源、关键词或状态筛选") : emptyRow(7, "还没有已结案的案件", "案件核查通过结案后显示在这里"));
  closedOffset += data.items.length;
  document.getElementById("closed-more").hidden = closedOffset >= data.total;
}

async function refresh() {
  const closed = view === "closed";
  document.getElementById("board").hidden = closed;
  document.getElementById("counters").hidden = closed;
  document.getElementById("closed").hidden = !closed;
  try {
    if (closed) await loadClosed(); else await loadBoard();
  } catch (e) { toast(e.message, true); }
}

document.getElementById("f-category").addEventListener("change", (e) => { f.category = e.target.value; refresh(); });
document.getElementById("f-source").addEventListener("change", (e) => { f.source = e.target.value; refresh(); });
document.getElementById("f-overdue").addEventListener("change", (e) => { f.overdue = e.target.checked ? "true" : ""; refresh(); });
document.getElementById("f-supervised").addEventListener("change", (e) => { f.supervised = e.target.checked ? "true" : ""; refresh(); });
document.getElementById("f-view").addEventListener("change", (e) => { view = e.target.value; refresh(); });
let timer = null;
document.getElementById("f-q").addEventListener("input", (e) => {
  clearTimeout(timer);
  timer = setTimeout(() => { f.q = e.target.value.trim(); refresh(); }, 300);
});
document.getElementById("closed-more").addEventListener("click", () => loadClosed(true).catch((e) => toast(e.message, true)));

Promise.all([loadCategories(), loadBoard()]).then(ready).catch((e) => toast(e.message, true));
setInterval(() => { if (view === "board" && !document.hidden) loadBoard().catch(() => {}); }, 60000);
