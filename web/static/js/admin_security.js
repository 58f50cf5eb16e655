// Security page (admins): active sessions and API tokens with end/revoke buttons, and the
// users' second factors with a reset button.  No token value or secret is ever shown.
import { api, el, fmtTime, toast, emptyRow } from "./common.js";

const $ = (id) => document.getElementById(id);
const who = (r) => (r.display_name && r.display_name !== r.username ? `${r.display_name}（${r.username}）` : r.username);

function action(label, confirmText, path, done) {
  return el("button", { class: "secondary danger", type: "button", text: label, onclick: async () => {
    if (!confirm(confirmText)) return;
    try { await api(path, { method: "POST", body: {} }); toast(done); await load(); } catch (e) { toast(e.message, true); }
  } });
}

async function loadSessions() {
  const data = await api("/api/v1/security/sessions");
  $("sessions-note").textContent = `未过期且 ${Math.round(data.idle_s / 60)} 分钟内有活动的会话。结束会话后，该浏览器需要重新登录。`;
  $("sessions-table").tBodies[0].replaceChildren(...data.items.map((s) => el("tr", {},
    el("td", { text: who(s) }), el("td", { text: fmtTime(s.created_at) }), el("td", { text: fmtTime(s.last_seen_at) }),
    el("td", { text: s.ip || "—" }), el("td", { class: "ua", translate: "no", text: (s.user_agent || "").slice(0, 80), title: s.user_agent || "" }),
    el("td", {}, s.current ? el("span", { class: "muted", text: "当前会话" })
      : action("结束", `结束 ${s.username} 的这个会话？`, `/api/v1/security/sessions/${s.id}/end`, "会话已结束")))));
  if (!data.items.length) $("sessions-table").tBodies[0].replaceChildren(emptyRow(7, "没有活动的会话", "用户登录后，其会话显示在这里"));
}

async function loadTokens() {
  const data = await api("/api/v1/security/tokens");
  $("tokens-table").tBodies[0].replaceChildren(...data.items.map((t) => el("tr", {},
    el("td", { text: t.name }), el("td", { text: who(t) }), el("td", { text: fmtTime(t.created_at) }),
    el("td", { text: t.last_used_at ? fmtTime(t.last_used_at) : "未使用" }), el("td", { text: t.expires_at ? fmtTime(t.expires_at) : "永不" }),
    el("td", {}, action("吊销", `吊销 ${t.username} 的令牌“${t.name}”？使用它的程序将无法再访问。`, `/api/v1/security/tokens/${t.id}/revoke`, "令牌已吊销")))));
  if (!data.items.length) $("tokens-table").tBodies[0].replaceChildren(emptyRow(7, "没有有效的 API 令牌", "用户可按接口文档中的说明创建令牌，供程序访问"));
}

async function loadSecondFactors() {
  const data = await api("/api/v1/security/2fa");
  $("tf-note").textContent = data.required_roles.length
    ? `要求双因素认证的角色：${data.required_roles.join("、")}（设置项 web.require_2fa_for）。重置后该用户的会话结束，下次登录时重新绑定。`
    : "当前没有角色被要求双因素认证（设置项 web.require_2fa_for）；用户可自愿绑定。重置后该用户的会话结束。";
  $("tf-table").tBodies[0].replaceChildren(...data.items.map((u) => el("tr", {},
    el("td", { text: who(u) }), el("td", { text: u.role }),
    el("td", { text: u.confirmed_at ? `已绑定（${fmtTime(u.confirmed_at)}）` : "未绑定（角色要求）" }),
    el("td", {}, u.confirmed_at ? action("重置", `重置 ${u.username} 的双因素认证？其会话将结束，需重新绑定身份验证器。`, `/api/v1/security/users/${u.user_id}/2fa/reset`, "已重置") : null))));
  if (!data.items.length) $("tf-table").tBodies[0].replaceChildren(emptyRow(5, "没有绑定或被要求绑定双因素认证的用户", "可在设置项 web.require_2fa_for 中要求角色启用双因素认证"));
}

async function load() {
  await Promise.all([loadSessions(), loadTokens(), loadSecondFactors()]);
  document.body.dataset.ready = "1";
}
load().catch((e) => toast(e.message, true));
