// 巡查任务 (phone first): my tasks, all open tasks of the scope, done tasks.
import { api, config, el, toast, fmtTime } from "./common.js";
import { badge, workLeft, ready } from "./cases_common.js";

const TARGET = { station: "站点", point: "巡查点", area: "区域" };
let view = "mine";
// Why a tab is empty and what to do (issue 22 §5).
const EMPTY = {
  mine: "没有分配给您的未完成巡查任务。任务由巡查计划按周期自动生成，可在“网格内”查看其他待办任务",
  open: "您的范围内没有未完成的巡查任务。任务由巡查计划按周期自动生成，可在“巡查计划”中新建或检查计划",
  done: "还没有已完成的巡查任务。执行人签到并提交检查表后显示在这里",
};

function card(t) {
  const dl = workLeft(t.deadline_left, t.due_at);
  return el("a", { class: `task-card ${t.state}`, href: `/patrol/tasks/${t.id}`, dataset: { id: String(t.id) } },
    el("div", { class: "row" }, el("span", { class: "name", text: t.target_name || `${TARGET[t.target]} ${t.target_id}` }), badge(t.state_label, t.state === "done" ? "done" : t.state === "overdue" ? "overdue" : "state")),
    el("div", { class: "sub", text: `${t.plan} · ${t.grid_name || ""}` }),
    el("div", { class: "sub" }, t.state === "done" ? `完成于 ${fmtTime(t.done_at)}${t.on_time ? "" : "（超期）"}` : el("span", { class: `deadline ${dl.cls}`, text: `时限 ${fmtTime(t.due_at)}（${dl.text}）` })),
    t.assignee_name ? el("div", { class: "sub", text: `执行人：${t.assignee_name}` }) : null);
}

async function load() {
  const query = view === "mine" ? { mine: "true", state: "pending,in_progress,overdue" }
    : view === "open" ? { state: "pending,in_progress,overdue" } : { state: "done", limit: 50 };
  const data = await api("/api/v1/patrol/tasks", { query });
  const hint = document.getElementById("t-hint");
  hint.hidden = !(view === "mine" && !data.linked);
  hint.textContent = "当前账号未关联网格人员，没有分配给您的巡查任务。";
  const list = document.getElementById("task-list");
  list.replaceChildren(...(data.items.length ? data.items.map(card) : [el("p", { class: "muted empty-state", text: EMPTY[view] })]));
  document.body.dataset.tasks = String(data.items.length);
}
for (const b of document.querySelectorAll(".tabs button[data-view]")) {
  b.addEventListener("click", () => {
    view = b.dataset.view;
    for (const o of document.querySelectorAll(".tabs button[data-view]")) o.classList.toggle("active", o === b);
    load().catch((e) => toast(e.message, true));
  });
}
void config;
load().then(ready).catch((e) => { toast(e.message, true); ready(); });
