// 隐患台账 and one hazard: rectify → review rounds, escalation to a case.
import { api, config, el, toast, fmtTime, emptyRow, FILTERED_EMPTY } from "./common.js";
import { badge, workLeft, facts, photoStrip, ready, uploadPhotos } from "./cases_common.js";

const CLS = { rectifying: "yellow", reviewing: "state", passed: "done" };

function deadlineCell(h) {
  if (!h.deadline_left) return el("td", { text: fmtTime(h.rectify_deadline) });
  const dl = workLeft(h.deadline_left, h.rectify_deadline);
  return el("td", {}, fmtTime(h.rectify_deadline), " ", el("span", { class: `deadline ${dl.cls}`, text: `（${dl.text}）` }));
}

async function list() {
  const state = document.getElementById("h-state").value;
  const data = await api("/api/v1/patrol/hazards", { query: { state } });
  const none = state ? emptyRow(7, FILTERED_EMPTY, "可在状态中选“全部”查看所有隐患")
    : emptyRow(7, "还没有登记隐患", "巡查检查项不合格时自动登记为隐患");
  document.querySelector("#hazards tbody").replaceChildren(...(data.items.length ? [] : [none]), ...data.items.map((h) => el("tr", {},
    el("td", {}, el("a", { href: `/patrol/hazards/${h.id}`, text: h.title })), el("td", { text: h.target_name || "—" }),
    el("td", { text: h.grid_name || "—" }), el("td", {}, badge(h.state_label, CLS[h.state])), el("td", { text: `第 ${h.round} 轮` }),
    deadlineCell(h),
    el("td", {}, h.case_id ? el("a", { href: `/cases/${h.case_id}`, text: "查看" }) : "—"))));
}

async function detail(id) {
  const h = await api(`/api/v1/patrol/hazards/${id}`);
  document.getElementById("h-title").textContent = h.title;
  document.getElementById("h-tags").replaceChildren(badge(h.state_label, CLS[h.state]), badge(`第 ${h.round} 轮`));
  document.getElementById("h-facts").replaceChildren(facts([
    ["对象", h.target_name], ["网格", h.grid_name], ["问题", h.description], ["发现人", h.reporter_name],
    ["整改人", h.rectifier_name], ["整改期限", h.deadline_left ? `${fmtTime(h.rectify_deadline)}（${h.deadline_left.text}）` : fmtTime(h.rectify_deadline)], ["发现时间", fmtTime(h.created_at)],
    h.task_id ? ["巡查任务", el("a", { href: `/patrol/tasks/${h.task_id}`, text: `#${h.task_id}` })] : null,
    h.case_id ? ["案件", el("a", { href: `/cases/${h.case_id}`, text: h.case_code })] : null,
  ]));
  document.getElementById("rounds").replaceChildren(...h.rounds.map((r) => el("li", {},
    el("b", { text: `第 ${r.round} 轮` }),
    r.rectified_at ? el("div", {}, `整改：${fmtTime(r.rectified_at)} ${r.rectified_by_name || ""}：${r.rectify_note}`) : el("div", { class: "muted", text: "待整改" }),
    photoStrip(r.attachments),
    r.reviewed_at ? el("div", { class: r.result === "pass" ? "result-ok" : "result-fail" }, `复查${r.result === "pass" ? "通过" : "不通过"}：${fmtTime(r.reviewed_at)} ${r.reviewed_by_name || ""} ${r.review_note || ""}`) : null)));
  const acts = new Set(h.actions);
  document.getElementById("h-act").hidden = acts.size === 0;
  document.getElementById("rectify-form").hidden = !acts.has("rectify");
  document.getElementById("review-form").hidden = !acts.has("pass");
  document.getElementById("escalate").hidden = !acts.has("escalate");
}

if (config.hazardId) {
  const id = config.hazardId;
  const reload = () => detail(id).catch((e) => toast(e.message, true));
  document.getElementById("rectify-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const photos = await uploadPhotos(document.getElementById("r-photo"));
      await api(`/api/v1/patrol/hazards/${id}/rectify`, { method: "POST", body: { note: document.getElementById("r-note").value, photos } });
      toast("整改已提交，等待复查");
      ev.target.reset();
      await reload();
    } catch (e) { toast(e.message, true); }
  });
  for (const [btn, passed] of [["v-pass", true], ["v-fail", false]]) {
    document.getElementById(btn).addEventListener("click", async () => {
      try {
        await api(`/api/v1/patrol/hazards/${id}/review`, { method: "POST", body: { passed, note: document.getElementById("v-note").value } });
        toast(passed ? "复查通过，隐患已归档" : "复查不通过，进入下一轮整改");
        await reload();
      } catch (e) { toast(e.message, true); }
    });
  }
  document.getElementById("escalate").addEventListener("click", async () => {
    try {
      const r = await api(`/api/v1/patrol/hazards/${id}/escalate`, { method: "POST", body: {} });
      location.href = `/cases/${r.case_id}`;
    } catch (e) { toast(e.message, true); }
  });
  detail(id).then(ready).catch((e) => { document.getElementById("h-title").textContent = e.message; toast(e.message, true); ready(); });
} else {
  document.getElementById("h-state").addEventListener("change", () => list().catch((e) => toast(e.message, true)));
  list().then(ready).catch((e) => { toast(e.message, true); ready(); });
}
