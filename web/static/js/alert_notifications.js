// The notification log (what was sent to whom, delivery status) and one message.
import { api, el, fmtTime, toast, emptyRow, FILTERED_EMPTY } from "./common.js";
import { CHANNEL_ZH } from "./alert_format.js";

const $ = (id) => document.getElementById(id);
const STATUS_ZH = { queued: "排队", sending: "发送中", sent: "已发送", failed: "失败", dropped: "超限额未发" };
const KIND_ZH = { alert: "告警", reminder: "提醒", ranking: "排名推送", test: "测试" };
let offset = 0;

async function show(id) {
  const n = await api(`/api/v1/alert-notifications/${id}`);
  $("no-detail").hidden = false;
  $("no-subject").textContent = n.subject;
  const m = n.message || {};
  $("no-body").textContent = m.text || (m.markdown && m.markdown.content) || JSON.stringify(m, null, 2);
  $("no-detail").scrollIntoView({ behavior: "smooth" });
}

async function load(more = false) {
  if (!more) offset = 0;
  const data = await api("/api/v1/alert-notifications", { query: { status: $("no-status").value, kind: $("no-kind").value, limit: 50, offset } });
  const rows = data.items.map((n) => el("tr", {},
    el("td", { text: fmtTime(n.created_at) }), el("td", { text: KIND_ZH[n.kind] || n.kind }),
    el("td", { text: n.receiver_name }), el("td", { text: CHANNEL_ZH[n.channel] || n.channel }),
    el("td", {}, el("a", { href: "#", text: n.subject, onclick: (ev) => { ev.preventDefault(); show(n.id).catch((e) => toast(e.message, true)); } })),
    el("td", {}, ...n.alert_ids.slice(0, 5).map((a) => el("a", { href: `/alerts/${a}`, text: `#${a} ` }))),
    el("td", { class: n.status === "failed" ? "over" : "", title: n.last_error || "", text: STATUS_ZH[n.status] || n.status })));
  const body = $("no-table").tBodies[0];
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [$("no-status").value || $("no-kind").value
    ? emptyRow(7, FILTERED_EMPTY, "请放宽状态或类型筛选")
    : emptyRow(7, "还没有发出过通知", "告警按“路由与接收人”的设置通知接收人后，记录显示在这里")]));
  offset += data.items.length;
  $("no-more").hidden = offset >= data.total;
  $("no-total").textContent = `共 ${data.total} 条`;
}
for (const id of ["no-status", "no-kind"]) $(id).addEventListener("change", () => load());
$("no-more").addEventListener("click", () => load(true));
load().then(() => { document.body.dataset.ready = "1"; }).catch((e) => toast(e.message, true));
