// 巡查计划: the plans of the caller's scope; officers and admins create and pause them.
import { api, config, el, toast, emptyRow } from "./common.js";
import { badge, DUTY_LABEL, ready } from "./cases_common.js";

const actor = config.actor || {};
const CYCLE = { daily: "每日", weekly: "每周", monthly: "每月", custom: "自定义" };

async function load() {
  const plans = await api("/api/v1/patrol/plans");
  document.querySelector("#plans tbody").replaceChildren(...plans.map((p) => el("tr", { dataset: { id: String(p.id) } },
    el("td", { text: p.name }),
    el("td", { text: p.cycle === "custom" ? `每 ${p.every_days} 天` : CYCLE[p.cycle] }),
    el("td", { text: [p.area_name, p.station_ids.length ? `${p.station_ids.length} 个站点` : "", p.point_ids.length ? `${p.point_ids.length} 个巡查点` : ""].filter(Boolean).join("，") }),
    el("td", { text: p.assignee_name || DUTY_LABEL[p.assignee_duty] || "—" }),
    el("td", { text: `${p.done}/${p.tasks}` }),
    el("td", {}, p.active ? badge("启用", "ok") : badge("停用")),
    el("td", {}, actor.planner ? el("button", { type: "button", class: "secondary", text: p.active ? "停用" : "启用",
      onclick: async () => {
        try { await api(`/api/v1/patrol/plans/${p.id}`, { method: "PATCH", body: { active: !p.active } }); await load(); } catch (e) { toast(e.message, true); }
      } }) : null))));
  if (!plans.length) document.querySelector("#plans tbody").replaceChildren(emptyRow(8, "您的范围内还没有巡查计划", actor.planner ? "请用上方表单新建计划，系统按周期生成巡查任务" : "请联系执法人员或管理员新建计划"));
}

async function setupForm() {
  if (!actor.planner) return;
  const form = document.getElementById("plan-form");
  form.hidden = false;
  document.getElementById("p-start").value = new Date().toISOString().slice(0, 10);
  const sel = document.getElementById("p-stations");
  const page = await api("/api/v1/stations", { query: { limit: 1000 } });
  for (const s of page.items) sel.append(el("option", { value: s.id, text: `${s.name}（${s.mn}）` }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const cycle = document.getElementById("p-cycle").value;
    const body = {
      name: document.getElementById("p-name").value.trim(), cycle,
      start_date: document.getElementById("p-start").value,
      station_ids: [...sel.selectedOptions].map((o) => Number(o.value)),
      assignee_duty: document.getElementById("p-duty").value,
    };
    if (cycle === "custom") body.every_days = Number(document.getElementById("p-every").value);
    if (document.getElementById("p-end").value) body.end_date = document.getElementById("p-end").value;
    if (document.getElementById("p-due").value) body.due_hours = Number(document.getElementById("p-due").value);
    try {
      await api("/api/v1/patrol/plans", { method: "POST", body });
      toast("巡查计划已保存，任务将按周期自动生成");
      form.reset();
      await load();
    } catch (e) { toast(e.message, true); }
  });
}
Promise.all([load(), setupForm()]).then(ready).catch((e) => { toast(e.message, true); ready(); });
