// One alert: facts, acknowledge/resolve/assign/comment, history and notifications.
import { api, config, el, fmtTime, toast } from "./common.js";
import { actorName, alertPlace, alertValue, CHANNEL_ZH } from "./alert_format.js";

const $ = (id) => document.getElementById(id);
const id = config.alertId;
const EVENT_ZH = {
  pending: "待确认", firing: "触发告警", cancelled: "取消", resolved: "恢复/解除", acknowledged: "确认",
  assigned: "指派", comment: "备注", inhibited: "被抑制", uninhibited: "解除抑制", escalated: "升级",
};
const STATUS_ZH = { queued: "排队", sending: "发送中", sent: "已发送", failed: "失败" };
let alert = null;

function fact(label, value) { return [el("dt", { text: label }), el("dd", {}, value ?? "—")]; }

function render(detail) {
  alert = detail.alert;
  const a = alert;
  document.title = `告警 #${a.id} · 环境监测平台`;
  $("a-title").textContent = `告警 #${a.id} ${a.rule_zh}${a.factor_name ? " · " + a.factor_name : ""}`;
  $("a-state").textContent = a.state_zh;
  $("a-state").className = `badge state-${a.state}`;
  document.body.dataset.state = a.state;
  $("a-facts").replaceChildren(
    ...fact("级别", a.severity_zh),
    ...fact("位置", a.station_id ? el("a", { href: `/stations/${a.station_id}`, text: alertPlace(a) }) : alertPlace(a)),
    ...fact("数值", alertValue(a)),
    ...(a.basis_zh ? fact("超标依据", a.basis_zh) : []),
    ...fact("原因", a.reason_zh || a.reason),
    ...fact("首次发生", fmtTime(a.first_seen)),
    ...fact("最近", fmtTime(a.last_seen)),
    ...fact("触发次数", String(a.count)),
    ...fact("确认", a.acknowledged_at ? `${actorName(a.acknowledged_by)} · ${fmtTime(a.acknowledged_at)}` : null),
    ...fact("恢复/解除", a.resolved_at ? `${actorName(a.resolved_by)} · ${fmtTime(a.resolved_at)}` : null),
    ...fact("处理人", a.assignee),
  );
  $("a-events").tBodies[0].replaceChildren(...detail.events.map((e) => el("tr", {},
    el("td", { text: fmtTime(e.at) }), el("td", { text: EVENT_ZH[e.kind] || e.kind }),
    el("td", { text: e.to_state ? (config.states[e.to_state] || e.to_state) : "—" }),
    el("td", { text: actorName(e.actor) }), el("td", { text: e.comment || (e.data && e.data.assignee ? `→ ${e.data.assignee}` : "") }))));
  $("a-notes").tBodies[0].replaceChildren(...(detail.notifications.length ? detail.notifications.map((n) => el("tr", {},
    el("td", { text: fmtTime(n.created_at) }), el("td", { text: n.receiver_name }), el("td", { text: CHANNEL_ZH[n.channel] || n.channel }),
    el("td", { text: n.subject }), el("td", { text: STATUS_ZH[n.status] || n.status }))) :
    [el("tr", {}, el("td", { colspan: 5, class: "muted", text: "没有通知" }))]));
  $("a-ack").disabled = a.state !== "firing";
  $("a-resolve").disabled = a.state === "resolved";
  $("a-assignee").value = a.assignee || "";
}

async function load() { render(await api(`/api/v1/alerts/${id}`)); }

async function act(action, extra = {}) {
  $("a-error").hidden = true;
  try {
    await api(`/api/v1/alerts/${id}/${action}`, { method: "POST", body: { comment: $("a-comment").value, ...extra } });
    $("a-comment").value = "";
    toast("已保存");
    await load();
  } catch (e) { $("a-error").textContent = e.message; $("a-error").hidden = false; }
}

$("a-ack").addEventListener("click", () => act("ack"));
$("a-resolve").addEventListener("click", () => act("resolve"));
$("a-assign").addEventListener("click", () => act("assign", { assignee: $("a-assignee").value || null }));
$("a-note").addEventListener("click", () => act("comment"));

async function init() {
  if (config.canAck) {
    $("a-actions").hidden = false;
    const people = await api("/api/v1/alert-assignees").catch(() => []);
    for (const p of people) $("a-assignee").append(el("option", { value: p.username, text: `${p.display_name || p.username}（${p.username}）` }));
  }
  await load();
  document.body.dataset.ready = "1";
}
init().catch((e) => toast(e.message, true));
