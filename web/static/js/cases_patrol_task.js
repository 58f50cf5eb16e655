// One patrol task on a phone: check in with the device position, fill the checklist,
// attach photos; failed items become hazards.
import { api, config, el, toast, fmtTime } from "./common.js";
import { badge, facts, miniMap, navLinks, photoStrip, ready, uploadPhotos } from "./cases_common.js";
import { ll } from "./basemap.js";

const id = config.taskId;
let task = null;
let map = null;

function renderCheckins(t) {
  document.getElementById("checkins").replaceChildren(...t.checkins.map((c) => el("div", { class: "notice", dataset: { checkin: String(c.id) } },
    `已签到 ${fmtTime(c.at)}`, c.distance_m !== null ? `，距目标 ${Math.round(c.distance_m)} 米` : "",
    c.out_of_range ? el("span", { class: "badge red", text: `超出 ${config.maxDistance} 米` }) : el("span", { class: "badge ok", text: "位置正常" }),
    c.person_name ? `（${c.person_name}）` : "", photoStrip(c.attachments))));
}

function renderChecklist(t) {
  const done = t.state === "done";
  document.getElementById("checklist-form").hidden = done || !t.can_work;
  document.getElementById("checklist").replaceChildren(...t.check_items.map((item) => el("li", { dataset: { code: item.code } },
    el("div", { class: "label", text: item.label }),
    el("div", { class: "choices" },
      el("label", { class: "ok-choice" }, el("input", { type: "radio", name: `r-${item.code}`, value: "ok", checked: true }), el("span", { text: "合格" })),
      el("label", { class: "fail-choice" }, el("input", { type: "radio", name: `r-${item.code}`, value: "fail" }), el("span", { text: "不合格" }))),
    el("textarea", { name: `n-${item.code}`, placeholder: "不合格须说明问题", maxlength: "1000", rows: "2" }))));
  const order = Object.fromEntries(t.check_items.map((item, i) => [item.code, i]));
  const results = [...t.results].sort((a, b) => (order[a.item_code] ?? 99) - (order[b.item_code] ?? 99));
  document.getElementById("results").replaceChildren(...(results.length ? [el("ul", { class: "plain" }, results.map((r) =>
    el("li", {}, el("span", { class: r.ok ? "result-ok" : "result-fail", text: r.ok ? "✓ " : "✗ " }), r.label, r.note ? `：${r.note}` : ""))), photoStrip(t.attachments)] : []).filter(Boolean));
  const hz = document.getElementById("t-hazards");
  document.getElementById("hazards-panel").hidden = !t.hazards.length;
  hz.replaceChildren(...t.hazards.map((h) => el("li", {}, el("a", { href: `/patrol/hazards/${h.id}`, text: h.title }), " ", badge(h.state_label))));
}

function render(t) {
  task = t;
  document.getElementById("t-title").textContent = t.target_name || "巡查任务";
  document.getElementById("t-tags").replaceChildren(badge(t.state_label, t.state === "done" ? "done" : t.state === "overdue" ? "overdue" : "state"));
  document.getElementById("t-facts").replaceChildren(facts([
    ["计划", t.plan], ["网格", t.grid_name], ["编号", t.target_code], ["时限", t.deadline_left ? `${fmtTime(t.due_at)}（${t.deadline_left.text}）` : fmtTime(t.due_at)],
    t.target_lat !== null && t.target_lat !== undefined ? ["导航", navLinks(t.target_lat, t.target_lon, t.target_name)] : null,
    ["执行人", t.assignee_name || "网格内人员"], t.done_at ? ["完成", `${fmtTime(t.done_at)}${t.on_time ? "（按时）" : "（超期）"}`] : null,
  ]));
  if (!map) map = miniMap(document.getElementById("t-map"), [{ lat: t.target_lat, lon: t.target_lon, label: t.target_name }], { zoom: 16 });
  renderCheckins(t);
  document.getElementById("checkin-box").hidden = !t.can_work;
  renderChecklist(t);
  document.body.dataset.state = t.state;
}

async function load() { render(await api(`/api/v1/patrol/tasks/${id}`)); }

document.getElementById("checkin-btn").addEventListener("click", () => {
  const state = document.getElementById("checkin-state");
  if (!navigator.geolocation) { state.textContent = "此设备不支持定位"; return; }
  state.textContent = "正在获取位置…";
  navigator.geolocation.getCurrentPosition(async (p) => {
    try {
      const r = await api(`/api/v1/patrol/tasks/${id}/checkin`, { method: "POST", body: {
        lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy ?? null } });
      state.textContent = r.distance_m === null ? "已签到" : `已签到，距目标 ${Math.round(r.distance_m)} 米${r.out_of_range ? "（超出范围，已标记）" : ""}`;
      toast("签到成功");
      if (map) L.circleMarker(ll(p.coords.latitude, p.coords.longitude), { radius: 7, color: "#1e88e5" }).addTo(map).bindTooltip("我的位置");
      await load();
    } catch (e) { state.textContent = e.message; toast(e.message, true); }
  }, (e) => { state.textContent = `无法获取位置：${e.message}（请允许定位权限）`; }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
});

document.getElementById("checklist-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const results = task.check_items.map((item) => ({
    code: item.code,
    ok: form.querySelector(`input[name="r-${item.code}"]:checked`).value === "ok",
    note: form.querySelector(`textarea[name="n-${item.code}"]`).value.trim(),
  }));
  const bad = results.find((r) => !r.ok && !r.note);
  if (bad) { toast("不合格项须说明问题", true); return; }
  const button = document.getElementById("checklist-submit");
  button.disabled = true;
  try {
    const photos = await uploadPhotos(document.getElementById("t-photo"));
    const r = await api(`/api/v1/patrol/tasks/${id}/checklist`, { method: "POST", body: { results, photos } });
    toast(r.hazards.length ? `已提交，发现 ${r.hazards.length} 处隐患` : "已提交，全部合格");
    await load();
  } catch (e) { toast(e.message, true); } finally { button.disabled = false; }
});
/* global L */
load().then(ready).catch((e) => { document.getElementById("t-title").textContent = e.message; toast(e.message, true); ready(); });
