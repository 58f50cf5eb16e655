// HJ 212-2025 loggers without an MN (CN 1001): list them with their hardware identity,
// assign an MN (registers the station and queues CN 1002 for the logger) or reject one.
import { api, el, fmtTime, stName, toast } from "./common.js";

const $ = (id) => document.getElementById(id);

function edit(logger) {
  $("assign-panel").hidden = false;
  $("assign-title").textContent = `为 ${logger.logger_id} 分配 MN`;
  $("a-logger").value = logger.logger_id;
  for (const id of ["a-mn", "a-name", "a-password", "a-st", "a-key", "a-region"]) $(id).value = "";
  $("a-password").placeholder = logger.has_password ? "留空则沿用其上报的密码" : "必填：该数采仪未上报密码";
  $("a-mn").focus();
}

async function reject(logger) {
  if (!confirm(`拒绝数采仪 ${logger.logger_id}？`)) return;
  try {
    await api(`/api/v1/pending-loggers/${encodeURIComponent(logger.logger_id)}/reject`, { method: "POST", body: {} });
    toast("已拒绝");
    await load();
  } catch (e) { toast(e.message, true); }
}

async function load() {
  const rows = await api("/api/v1/pending-loggers");
  $("loggers-table").tBodies[0].replaceChildren(...rows.map((g) => el("tr", {},
    el("td", { class: "mono", text: g.logger_id }), el("td", { class: "mono", text: g.cpu_id }),
    el("td", { class: "mono", text: [g.mac1, g.mac2].filter(Boolean).join(" / ") }),
    el("td", { title: g.st ? `ST ${g.st}` : undefined, text: stName(g.st) }), el("td", { text: g.peer || "—" }),
    el("td", { text: fmtTime(g.last_seen) }), el("td", { text: String(g.frames) }),
    el("td", { class: g.identity_conflicts ? "bad" : "", text: String(g.identity_conflicts) }),
    el("td", {},
      el("button", { class: "secondary", type: "button", text: "分配 MN", onclick: () => edit(g) }), " ",
      el("button", { class: "secondary danger", type: "button", text: "拒绝", onclick: () => reject(g) })))));
  if (!rows.length) {
    $("loggers-table").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "muted", text: "没有待分配的数采仪" })));
  }
  document.body.dataset.ready = "1";
}

$("assign-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const logger = $("a-logger").value;
  const body = { mn: $("a-mn").value.trim().toUpperCase() };
  for (const [key, id] of [["name", "a-name"], ["password", "a-password"], ["st", "a-st"], ["sm4_key", "a-key"], ["region", "a-region"]]) {
    const v = $(id).value.trim();
    if (v) body[key] = v;
  }
  try {
    const done = await api(`/api/v1/pending-loggers/${encodeURIComponent(logger)}/assign`, { method: "POST", body });
    toast(`已登记站点 ${done.mn}，CN 1002 已排队（命令 ${done.command_id}）`);
    $("assign-panel").hidden = true;
    await load();
  } catch (e) { toast(e.message, true); }
});
$("a-cancel").addEventListener("click", () => { $("assign-panel").hidden = true; });
load().catch((e) => toast(e.message, true));
