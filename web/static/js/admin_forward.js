// Forwarding to upstream platforms: targets with connection state and backlog; add, remove.
import { api, el, fmtTime, toast } from "./common.js";

const $ = (id) => document.getElementById(id);

async function remove(t) {
  if (!confirm(`删除转发目标 ${t.name}？其积压数据将一并删除。`)) return;
  try {
    await api(`/api/v1/forward/targets/${encodeURIComponent(t.name)}`, { method: "DELETE" });
    toast("已删除");
    await load();
  } catch (e) { toast(e.message, true); }
}

async function load() {
  const rows = await api("/api/v1/forward/targets");
  $("forward-table").tBodies[0].replaceChildren(...rows.map((t) => el("tr", {},
    el("td", { text: t.name }), el("td", { class: "mono", text: `${t.host}:${t.port}` }),
    el("td", { class: t.connected ? "good" : "bad", text: t.connected ? "已连接" : "未连接" }),
    el("td", { text: String(t.backlog) }), el("td", { text: t.oldest_unsent ? fmtTime(t.oldest_unsent) : "—" }),
    el("td", { text: t.last_ack_at ? fmtTime(t.last_ack_at) : "—" }),
    el("td", { text: String(t.sent) }), el("td", { text: String(t.acked) }), el("td", { text: String(t.resent) }),
    el("td", { class: t.errors ? "bad" : "", text: String(t.errors), title: t.last_error || "" }),
    el("td", {}, el("button", { class: "secondary danger", type: "button", text: "删除", onclick: () => remove(t) })))));
  if (!rows.length) {
    $("forward-table").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: 11, class: "muted", text: "尚未配置转发目标" })));
  }
  document.body.dataset.ready = "1";
}

$("forward-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {
    name: $("f-name").value.trim(), host: $("f-host").value.trim(), port: Number($("f-port").value),
    edition: $("f-edition").value, alert_after: Number($("f-alert").value) || 30,
    cns: $("f-cns").value.split(",").map((s) => s.trim()).filter(Boolean).map(Number),
  };
  for (const [key, id] of [["password", "f-password"], ["sm4_key", "f-key"], ["stations", "f-stations"], ["mn_map", "f-map"], ["since", "f-since"]]) {
    const v = $(id).value.trim();
    if (v) body[key] = v;
  }
  try {
    await api("/api/v1/forward/targets", { method: "POST", body });
    toast(`已新增转发目标 ${body.name}`);
    $("forward-form").reset();
    await load();
  } catch (e) { toast(e.message, true); }
});
load().catch((e) => toast(e.message, true));
setInterval(() => load().catch(() => {}), 5000);
