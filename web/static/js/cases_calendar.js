// 工作日历: a year of holidays / 调休 workdays, the coverage warning, editing a day.
import { api, config, el, toast, withCode } from "./common.js";
import { ready } from "./cases_common.js";

const actor = config.actor || {};
let year = new Date().getFullYear();
let weekend = [6, 7];
const WEEK = ["一", "二", "三", "四", "五", "六", "日"];
const dialog = document.getElementById("cal-dialog");
const form = document.getElementById("cal-form");
let editing = null;

function iso(y, m, d) { return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`; }

function month(y, m, byDay) {
  const first = new Date(Date.UTC(y, m - 1, 1));
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const lead = (first.getUTCDay() + 6) % 7;
  const cells = WEEK.map((w) => el("th", { text: w }));
  const rows = [];
  let row = [];
  for (let i = 0; i < lead; i++) row.push(el("td"));
  for (let d = 1; d <= days; d++) {
    const key = iso(y, m, d);
    const isoDow = ((lead + d - 1) % 7) + 1;
    const info = byDay.get(key);
    const off = info ? info.kind === "holiday" : weekend.includes(isoDow);
    const cls = ["cal-day", off ? "off" : "on"];
    if (info) cls.push(info.kind, info.source === "override" ? "override" : "library");
    const title = info ? `${key} ${info.kind === "holiday" ? "休息" : "上班"} ${info.name || ""}${info.source === "override" ? `（人工设置 ${info.updated_by}）` : ""}` : `${key} ${off ? "休息" : "工作日"}`;
    const cell = el("td", { class: cls.join(" "), title, dataset: { day: key }, text: String(d) });
    if (actor.canEdit) {
      cell.tabIndex = 0;
      cell.addEventListener("click", () => edit(key, info));
    }
    row.push(cell);
    if (row.length === 7) { rows.push(el("tr", {}, ...row)); row = []; }
  }
  if (row.length) rows.push(el("tr", {}, ...row));
  return el("div", { class: "cal-month" }, el("h3", { text: `${m} 月` }),
    el("table", { class: "cal" }, el("thead", {}, el("tr", {}, ...cells)), el("tbody", {}, ...rows)));
}

function render(data) {
  year = data.year;
  weekend = data.weekend;
  document.getElementById("cal-year").textContent = `${year} 年`;
  document.getElementById("cal-rule").textContent = `工作时段 ${data.work_hours.join("、")}`;
  const warn = document.getElementById("cal-warning");
  warn.hidden = !data.warning;
  warn.replaceChildren(...withCode(data.warning));
  const byDay = new Map(data.days.map((d) => [d.day, d]));
  document.getElementById("cal-months").replaceChildren(...Array.from({ length: 12 }, (_, i) => month(year, i + 1, byDay)));
  document.querySelector("#cal-years tbody").replaceChildren(...data.years.map((y) => el("tr", {},
    el("td", { text: y.year }), el("td", { text: y.holidays }), el("td", { text: y.workdays }), el("td", { text: y.overrides }))));
  document.getElementById("cal-library").replaceChildren("节假日数据来源：", el("code", { translate: "no", text: data.library }), "（国务院办公厅每年发布的放假安排）");
  ready();
}

async function load() { render(await api("/api/v1/work-calendar", { query: { year } })); }

function edit(day, info) {
  editing = day;
  document.getElementById("cal-dialog-title").textContent = `设置 ${day}`;
  form.elements.name.value = info && info.source === "override" ? info.name : "";
  form.elements.kind.value = info && info.source === "override" ? info.kind : "";
  dialog.showModal();
}

dialog.addEventListener("close", async () => {
  if (dialog.returnValue !== "save" || !editing) return;
  const kind = form.elements.kind.value;
  if (!kind) { toast("请选择工作日、休息日或恢复法定安排", true); return; }
  try {
    const data = await api("/api/v1/work-calendar/day", { method: "PUT", body: { day: editing, kind, name: form.elements.name.value } });
    toast(data.message);
    render(data);
  } catch (err) { toast(err.message, true); }
});

if (actor.canEdit) {
  document.getElementById("cal-edit-hint").hidden = false;
  const btn = el("button", { type: "button", class: "btn", id: "cal-update", text: "从节假日库更新" });
  btn.addEventListener("click", async () => {
    try { const data = await api("/api/v1/work-calendar/update", { method: "POST", body: {} }); toast(data.message); await load(); } catch (err) { toast(err.message, true); }
  });
  document.getElementById("cal-actions").append(btn);
}
document.getElementById("cal-prev").addEventListener("click", () => { year -= 1; load(); });
document.getElementById("cal-next").addEventListener("click", () => { year += 1; load(); });
load().catch((err) => toast(err.message, true));
