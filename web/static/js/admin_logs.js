// Operation log and login log (admins): who did what, when, from where.
import { api, el, fmtTime, toast, emptyRow, FILTERED_EMPTY } from "./common.js";

let kind = "operations";
let offset = 0;
const HEAD = {
  operations: ["时间", "用户", "来源", "操作", "对象", "结果"],
  logins: ["时间", "用户名", "来源", "结果", "原因", "浏览器"],
};
const REASON = {
  ok: "成功", bad_credentials: "用户名或密码错误", locked: "账号锁定", disabled: "账号停用",
  totp_required: "密码正确，待输入动态码", bad_totp: "动态码错误", replayed_totp: "动态码重复使用",
  totp_unreadable: "动态码密钥无法解密",
};

function row(r) {
  if (kind === "operations") {
    return el("tr", {}, el("td", { text: fmtTime(r.ts) }), el("td", { text: r.username }), el("td", { text: r.ip || "" }),
      el("td", { text: `${r.action}（${r.method} ${r.path}）` }), el("td", { text: r.target }), el("td", { text: r.status }));
  }
  return el("tr", {}, el("td", { text: fmtTime(r.ts) }), el("td", { text: r.username }), el("td", { text: r.ip || "" }),
    el("td", { text: r.success ? "成功" : "失败" }), el("td", { text: REASON[r.reason] || r.reason }), el("td", { text: (r.user_agent || "").slice(0, 60) }));
}

async function load(more = false) {
  if (!more) offset = 0;
  const data = await api(`/api/v1/logs/${kind}`, { query: { username: document.getElementById("g-user").value, limit: 50, offset } });
  const table = document.getElementById("log-table");
  table.tHead.replaceChildren(el("tr", {}, HEAD[kind].map((h) => el("th", { text: h }))));
  const rows = data.items.map(row);
  if (more) table.tBodies[0].append(...rows);
  else if (!rows.length && document.getElementById("g-user").value) table.tBodies[0].replaceChildren(emptyRow(6, FILTERED_EMPTY, "请检查用户名"));
  else table.tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(6, "还没有记录")]));
  offset += data.items.length;
  document.getElementById("log-more").hidden = offset >= data.total;
  document.body.dataset.ready = "1";
}
for (const b of document.querySelectorAll(".tabs button")) {
  b.addEventListener("click", () => {
    kind = b.dataset.log;
    for (const x of document.querySelectorAll(".tabs button")) x.classList.toggle("active", x === b);
    load();
  });
}
document.getElementById("g-user").addEventListener("change", () => load());
document.getElementById("log-more").addEventListener("click", () => load(true));
load().catch((e) => toast(e.message, true));
