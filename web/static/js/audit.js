// 数据审核 page: the pre-audit proposals (select, then 确认无效 or 忽略 in bulk) and the
// append-only audit log of the stations in the caller's scope.
import { api, el, factorLabel, fmtNumber, toast } from "./common.js";
import { emptyRow, localText, logRow } from "./audit_common.js";

const $ = (sel) => document.getElementById(sel);

function checked() {
  return [...document.querySelectorAll("#proposals-table tbody input:checked")].map((c) => Number(c.value));
}

function updateCount() {
  const n = checked().length;
  $("p-count").textContent = n ? `已选 ${n} 条` : "";
  const open = $("p-status").value === "open";
  $("p-confirm").disabled = !open || !n;
  $("p-dismiss").disabled = !open || !n;
}

async function loadProposals() {
  const status = $("p-status").value;
  const data = await api("/api/v1/audit/proposals", { query: { status } });
  $("p-all").checked = false;
  const none = { open: "没有待确认的预审核", confirmed: "没有已确认的预审核", dismissed: "没有已忽略的预审核" }[status];
  if (!data.items.length) { $("proposals-table").querySelector("tbody").replaceChildren(emptyRow(8, none)); updateCount(); return; }
  $("proposals-table").querySelector("tbody").replaceChildren(...data.items.map((p) => el("tr", { dataset: { id: p.id } },
    el("td", {}, status === "open" ? el("input", { type: "checkbox", value: String(p.id), "aria-label": `选择 ${p.id}` }) : ""),
    el("td", {}, el("a", { href: `/stations/${p.station_id}`, text: `${p.station_name || p.mn}（${p.mn}）` })),
    el("td", {}, factorLabel(p.name_zh, p.code)),
    el("td", { text: localText(p.hour) }),
    el("td", { text: `${fmtNumber(p.value)} ${p.unit || ""}` }),
    el("td", { text: p.rule_name }),
    el("td", { text: p.detail }),
    el("td", { text: p.decided_by || "" }))));
  updateCount();
}

async function loadLog() {
  const data = await api("/api/v1/audit/log", { query: { limit: 200 } });
  const rows = data.items.map((e) => logRow(e, { station: true }));
  $("audit-log-table").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(9, "暂无审核记录")]));
}

async function decide(step) {
  const ids = checked();
  if (!ids.length) return;
  try {
    const r = await api(`/api/v1/audit/proposals/${step}`, { method: "POST", body: { ids } });
    toast(step === "confirm" ? `已确认 ${r.confirmed} 条，相关数据已标记无效` : `已忽略 ${r.dismissed} 条`);
    await Promise.all([loadProposals(), loadLog()]);
  } catch (err) {
    toast(err.message, true);
  }
}

$("p-status").addEventListener("change", () => loadProposals().catch((e) => toast(e.message, true)));
$("p-all").addEventListener("change", () => {
  for (const c of document.querySelectorAll("#proposals-table tbody input")) c.checked = $("p-all").checked;
  updateCount();
});
$("proposals-table").addEventListener("change", updateCount);
$("p-confirm").addEventListener("click", () => decide("confirm"));
$("p-dismiss").addEventListener("click", () => decide("dismiss"));
Promise.all([loadProposals(), loadLog()])
  .catch((e) => toast(e.message, true))
  .finally(() => { document.body.dataset.ready = "1"; });
