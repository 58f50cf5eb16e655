// 案件详情: facts, the trail with photos, and the actions the caller may take now.
import { api, config, el, toast, fmtTime, emptyRow } from "./common.js";
import { badge, facts, miniMap, photoStrip, ready, uploadPhotos, SOURCE_LABEL, STAGE_LABEL, navLinks, workLeft } from "./cases_common.js";

const id = config.caseId;
const actor = config.actor || {};
let current = null;
let chosen = null;
let map = null;
// Actions that need a reason, photos, a unit or minutes (as the services check them).
const NEEDS_REASON = new Set(["reject", "cancel", "return", "request_hang", "check_fail", "verify_false", "deny_extension", "deny_hang", "note", "close_recovered"]);
const PHOTOS = new Set(["feedback", "check_pass", "check_fail", "note", "verify_ok", "verify_false"]);
const SECONDARY = new Set(["note", "supervise"]);
const DANGER = new Set(["cancel", "reject", "return", "check_fail", "verify_false", "deny_extension", "deny_hang", "request_hang"]);
const NOTICE_KIND = { dispatch: "派遣", reminder: "提醒", due: "到期", escalation: "督办", task_overdue: "巡查超期", hazard_due: "隐患超期" };
const ALERT_STATE = { pending: "待确认", firing: "告警中", acknowledged: "已确认", resolved: "已恢复" };
const ALERT_EVENT = { pending: "待确认", firing: "触发", resolved: "恢复", cancelled: "取消", acknowledged: "确认", assigned: "指派", comment: "备注", inhibited: "抑制", uninhibited: "解除抑制", escalated: "升级" };
const ALERT_RULE = { exceedance: "超标", aqi_level: "AQI 等级超限", offline: "断线", flatline: "恒值", jump: "突变" };
const PRIORITY_CLASS = { 1: "", 2: "yellow", 3: "urgent" };
const CLOSE_KIND = { recovered: "恢复结案", auto_recovered: "自动恢复" };
const num = (v) => (v === null || v === undefined ? "—" : String(Math.round(v * 1000) / 1000));

function renderAlerts(c) {
  const panel = document.getElementById("alerts-panel");
  const alerts = c.alerts || [];
  panel.hidden = alerts.length === 0;
  if (!alerts.length) return;
  const active = alerts.filter((a) => a.state !== "resolved").length;
  document.getElementById("alerts-summary").textContent = c.recovered_at
    ? `共 ${alerts.length} 条告警，已全部恢复（${fmtTime(c.recovered_at)}）`
    : `共 ${alerts.length} 条告警，${active} 条仍在告警中`;
  document.getElementById("case-alerts").replaceChildren(...alerts.map((a) => el("li", { dataset: { alert: a.id, state: a.state } },
    el("div", { class: "what" },
      el("a", { href: `/alerts/${a.id}`, text: `${a.factor_name || a.factor_code || ""}${ALERT_RULE[a.rule] || a.rule}` }),
      " ", badge(a.priority_label, PRIORITY_CLASS[a.priority] || ""), " ", badge(ALERT_STATE[a.state] || a.state, "state")),
    el("div", { class: "muted", text: `监测值 ${num(a.value)} · 限值 ${num(a.threshold)} · 首次 ${fmtTime(a.first_seen)}${a.resolved_at ? ` · 恢复 ${fmtTime(a.resolved_at)}` : ""}` }),
    el("ol", { class: "alert-timeline" }, ...(a.events || []).map((e) => el("li", {},
      el("span", { class: "when", text: fmtTime(e.at) }), " ", ALERT_EVENT[e.kind] || e.kind,
      e.comment ? `：${e.comment}` : ""))))));
}

const NOTICE_STATUS = { queued: "待发送", sending: "发送中", sent: "已发送", failed: "失败", skipped: "未发送" };

function render(c) {
  current = c;
  document.getElementById("case-title").textContent = `${c.code} ${c.title}`;
  document.title = `${c.code} · 案件详情`;
  const dl = workLeft(c.deadline_left, c.deadline);
  const hl = workLeft(c.handle_deadline_left, c.handle_deadline);
  document.getElementById("case-tags").replaceChildren(...[
    badge(c.state_label, "state"), c.urgent ? badge("紧急", "urgent") : null,
    c.source === "alert" && c.priority_label ? badge(`优先级 ${c.priority_label}`, PRIORITY_CLASS[c.priority] || "") : null,
    c.recovered_at && !c.closed_at ? badge("已恢复", "recovered") : null,
    c.close_kind ? badge(CLOSE_KIND[c.close_kind] || c.close_kind, "recovered") : null,
    c.supervised ? badge("督办", "supervised") : null,
    c.handle_overdue ? badge("处置超期", "overdue") : null,
    c.rework_count ? badge(`返工 ${c.rework_count} 次`, "yellow") : null].filter(Boolean));
  document.getElementById("case-facts").replaceChildren(facts([
    ["类别", c.category_name || c.category], ["来源", SOURCE_LABEL[c.source] || c.source],
    ["网格", c.grid_id ? el("a", { href: `/grid/${c.grid_id}`, text: c.grid_name }) : "—"],
    ["责任单位", c.unit_name], ["处置人", c.handler_name],
    ["当前环节", c.stage ? `${STAGE_LABEL[c.stage] || c.stage}（${fmtTime(c.deadline)}，${dl.text}）` : "—"],
    ["处置时限", c.handle_deadline ? `${fmtTime(c.handle_deadline)}（${hl.text}）` : "—"],
    c.station_id ? ["站点", el("a", { href: `/stations/${c.station_id}`, text: c.station_name || String(c.station_id) })] : null,
    ["地址", c.address],
    c.lat !== null && c.lat !== undefined ? ["导航", navLinks(c.lat, c.lon, c.address || c.title)] : null,
    ["描述", c.description],
    c.reporter_name || c.reporter_phone ? ["上报人", `${c.reporter_name || ""} ${c.reporter_phone || ""}`] : null,
    ["上报时间", fmtTime(c.reported_at)], c.recovered_at ? ["恢复时间", fmtTime(c.recovered_at)] : null,
    c.closed_at ? ["结案时间", fmtTime(c.closed_at)] : null,
  ]));
  renderAlerts(c);
  if (c.lat !== null && c.lat !== undefined && !map) {
    const box = document.getElementById("case-map");
    box.hidden = false;
    map = miniMap(box, [{ lat: c.lat, lon: c.lon, label: c.title, color: "#c62828" }]);
  }
  document.getElementById("trail").replaceChildren(...c.trail.map((e) => el("li", { dataset: { action: e.action } },
    el("div", { class: "when", text: `${fmtTime(e.at)} · ${e.actor_name || e.role}` }),
    el("div", { class: "what" }, e.action_label, e.from_state !== e.to_state ? ` → ${e.to_state_label}` : "",
      e.unit_name ? `（${e.unit_name}）` : ""),
    e.comment ? el("div", { class: "comment", text: e.comment }) : null,
    photoStrip(e.attachments))));
  const bar = document.getElementById("action-bar");
  const acts = actor.canWrite ? c.actions : [];
  bar.replaceChildren(...acts.map((a) => el("button", {
    type: "button", class: SECONDARY.has(a.action) ? "secondary" : DANGER.has(a.action) ? "danger" : "primary",
    dataset: { action: a.action }, onclick: () => openForm(a), text: a.label,
  })));
  document.getElementById("no-actions").hidden = acts.length > 0;
  document.querySelector("#notices tbody").replaceChildren(...(c.notices || []).map((n) => el("tr", {},
    el("td", { text: NOTICE_KIND[n.kind] || n.kind }), el("td", { text: n.recipient_name || "—" }),
    el("td", { title: n.last_error || "", text: NOTICE_STATUS[n.status] || n.status }),
    el("td", { text: fmtTime(n.sent_at || n.due_at) }))));
  if (!(c.notices || []).length) document.querySelector("#notices tbody").replaceChildren(emptyRow(5, "这个案件还没有催办或超期通知", "临近或超过时限时系统自动通知经办人"));
}

async function openForm(a) {
  chosen = a;
  const form = document.getElementById("action-form");
  form.hidden = false;
  document.getElementById("af-title").textContent = a.label;
  document.getElementById("af-comment").value = "";
  document.getElementById("af-comment").required = NEEDS_REASON.has(a.action);
  document.getElementById("af-photo").value = "";
  document.getElementById("af-photo-row").hidden = !PHOTOS.has(a.action);
  document.getElementById("af-minutes-row").hidden = a.action !== "request_extension";
  const unitRow = document.getElementById("af-unit-row");
  unitRow.hidden = a.action !== "dispatch";
  if (a.action === "dispatch") {
    const sel = document.getElementById("af-unit");
    if (sel.options.length === 0) {
      sel.append(el("option", { value: "", text: "按网格和类别自动选择" }));
      for (const u of await api("/api/v1/grid/units")) sel.append(el("option", { value: u.id, text: u.name }));
    }
  }
  document.getElementById("af-comment").focus();
}

document.getElementById("af-cancel").addEventListener("click", () => { document.getElementById("action-form").hidden = true; });
document.getElementById("action-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const button = document.getElementById("af-submit");
  button.disabled = true;
  try {
    const body = { action: chosen.action, comment: document.getElementById("af-comment").value, version: current.version };
    if (chosen.action === "dispatch" && document.getElementById("af-unit").value) body.unit_id = Number(document.getElementById("af-unit").value);
    if (chosen.action === "request_extension") body.extension_minutes = Number(document.getElementById("af-minutes").value);
    const photos = await uploadPhotos(document.getElementById("af-photo"));
    if (photos.length) body.photos = photos;
    const result = await api(`/api/v1/cases/${id}/actions`, { method: "POST", body });
    toast(`${chosen.label}完成，当前状态：${result.state_label}`);
    document.getElementById("action-form").hidden = true;
    await load();
  } catch (e) {
    toast(e.message, true);
  } finally { button.disabled = false; }
});

async function load() { render(await api(`/api/v1/cases/${id}`)); }
load().then(ready).catch((e) => {
  document.getElementById("case-title").textContent = e.message;
  toast(e.message, true);
  ready();
});
