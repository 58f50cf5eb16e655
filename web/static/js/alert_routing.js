// Routes (which alerts go to whom) and receivers (contact points, linked to users) — admins.
import { editForm } from "./alert_forms.js";
import { CHANNEL_ZH, matcherText } from "./alert_format.js";
import { api, config, el, toast, emptyRow } from "./common.js";

const $ = (id) => document.getElementById(id);
const KIND_ZH = CHANNEL_ZH;
const ROLE_ZH = { maintainer: "运维人员", officer: "监管人员" };
const SCOPE_ZH = { station: "站点", region: "区县", area: "区域", all: "全部" };
let receivers = [];

function selected(id) { return [...$(id).selectedOptions].map((o) => o.value); }
function setSelected(id, values) { for (const o of $(id).options) o.selected = values.includes(o.value); }

async function loadReceivers() {
  receivers = await api("/api/v1/alert-receivers");
  $("rc-table").tBodies[0].replaceChildren(...receivers.map((r) => el("tr", { dataset: { id: r.id } },
    el("td", { text: r.name }), el("td", { text: KIND_ZH[r.kind] || r.kind }), el("td", { class: "wrap", text: r.address }),
    el("td", { text: r.username ? `${r.user_display_name || r.username}（${r.username}）` : "—" }),
    el("td", {}, ...r.responsibilities.map((p) => el("span", { class: "tag" },
      `${ROLE_ZH[p.role]}·${SCOPE_ZH[p.scope]}${p.scope_key ? " " + p.scope_key : ""} `,
      el("button", { class: "link", type: "button", text: "×", title: "删除职责", onclick: async () => {
        await api(`/api/v1/alert-responsibilities/${p.id}`, { method: "DELETE" }).catch((e) => toast(e.message, true)); loadReceivers();
      } })))),
    el("td", { text: r.enabled ? "启用" : "停用" }),
    el("td", {}, el("button", { class: "secondary small", type: "button", text: "编辑", onclick: () => editReceiver(r) }),
      el("button", { class: "danger", type: "button", text: "删除", onclick: async () => {
        if (!confirm(`删除接收人 ${r.name}？`)) return;
        await api(`/api/v1/alert-receivers/${r.id}`, { method: "DELETE" }).catch((e) => toast(e.message, true)); loadReceivers();
      } })))));
  if (!receivers.length) $("rc-table").tBodies[0].replaceChildren(emptyRow(7, "还没有接收人", "请用上方表单添加接收人（短信、邮件、钉钉或企业微信）"));
  $("rs-receiver").replaceChildren(...receivers.map((r) => el("option", { value: r.id, text: r.name })));
  $("rt-receivers").replaceChildren(...receivers.map((r) => el("option", { value: r.id, text: r.name })));
}

function editReceiver(r) {
  $("rc-id").value = r.id; $("rc-name").value = r.name; $("rc-kind").value = r.kind; $("rc-address").value = r.address;
  $("rc-secret").value = ""; $("rc-user").value = r.user_id ?? ""; $("rc-enabled").checked = r.enabled;
  $("rc-daily").checked = (r.settings || {}).daily_push !== false;
  $("rc-form-title").textContent = `修改接收人 ${r.name}`;
}

editForm("rc", { url: "/api/v1/alert-receivers", newTitle: "新建接收人", saved: () => loadReceivers(), body: () => {
  const body = { name: $("rc-name").value.trim(), kind: $("rc-kind").value, address: $("rc-address").value.trim(),
    enabled: $("rc-enabled").checked, user_id: $("rc-user").value ? Number($("rc-user").value) : null };
  // keep the receiver's other settings (at_mobiles, templates …); the form sets the push choice
  const editing = receivers.find((r) => String(r.id) === $("rc-id").value);
  body.settings = { ...((editing && editing.settings) || {}), daily_push: $("rc-daily").checked };
  if ($("rc-secret").value) body.secret = $("rc-secret").value;
  return body;
} });

$("rs-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await api(`/api/v1/alert-receivers/${$("rs-receiver").value}/responsibilities`, { method: "POST",
      body: { role: $("rs-role").value, scope: $("rs-scope").value, scope_key: $("rs-key").value.trim() } });
    toast("已添加职责"); loadReceivers();
  } catch (e) { toast(e.message, true); }
});

async function loadRoutes() {
  const routes = await api("/api/v1/alert-routes");
  const names = new Map(receivers.map((r) => [r.id, r.name]));
  $("rt-table").tBodies[0].replaceChildren(...routes.map((r) => el("tr", { dataset: { id: r.id } },
    el("td", { text: r.position }), el("td", { text: r.name }),
    el("td", { text: matcherText(r.matchers, "全部告警") }),
    el("td", { text: [...r.to_roles.map((x) => ROLE_ZH[x]), ...r.receiver_ids.map((x) => names.get(x) || `#${x}`)].join("、") }),
    el("td", { text: `${r.enabled ? "启用" : "停用"}${r.continue_matching ? " · 继续匹配" : ""}` }),
    el("td", {}, el("button", { class: "secondary small", type: "button", text: "编辑", onclick: () => editRoute(r) }),
      el("button", { class: "danger", type: "button", text: "删除", onclick: async () => {
        if (!confirm(`删除路由 ${r.name}？`)) return;
        await api(`/api/v1/alert-routes/${r.id}`, { method: "DELETE" }).catch((e) => toast(e.message, true)); loadRoutes();
      } })))));
  if (!routes.length) $("rt-table").tBodies[0].replaceChildren(emptyRow(6, "还没有路由规则，告警不会通知任何人", "请用上方表单添加规则，把告警发给接收人"));
}

function editRoute(r) {
  $("rt-id").value = r.id; $("rt-name").value = r.name; $("rt-position").value = r.position;
  setSelected("rt-rules", r.matchers.rule || []); setSelected("rt-severities", r.matchers.severity || []);
  $("rt-regions").value = (r.matchers.region || []).join(",");
  setSelected("rt-roles", r.to_roles); setSelected("rt-receivers", r.receiver_ids.map(String));
  $("rt-repeat").value = r.repeat_interval_s ?? ""; $("rt-resolved").checked = r.send_resolved;
  $("rt-continue").checked = r.continue_matching; $("rt-enabled").checked = r.enabled;
  $("rt-form-title").textContent = `修改路由规则 ${r.name}`;
}

editForm("rt", { url: "/api/v1/alert-routes", newTitle: "新建路由规则", saved: () => loadRoutes(), body: () => {
  const matchers = {};
  if (selected("rt-rules").length) matchers.rule = selected("rt-rules");
  if (selected("rt-severities").length) matchers.severity = selected("rt-severities");
  const regions = $("rt-regions").value.split(/[\s,，]+/).filter(Boolean);
  if (regions.length) matchers.region = regions;
  const body = { name: $("rt-name").value.trim(), position: Number($("rt-position").value || 100), matchers,
    to_roles: selected("rt-roles"), receiver_ids: selected("rt-receivers").map(Number),
    send_resolved: $("rt-resolved").checked, continue_matching: $("rt-continue").checked, enabled: $("rt-enabled").checked };
  if ($("rt-repeat").value) body.repeat_interval_s = Number($("rt-repeat").value);
  return body;
} });

async function init() {
  for (const [k, v] of Object.entries(config.rules)) $("rt-rules").append(el("option", { value: k, text: v }));
  for (const [k, v] of Object.entries(config.severities)) $("rt-severities").append(el("option", { value: k, text: v }));
  const users = await api("/api/v1/users", { query: { limit: 1000 } }).catch(() => ({ items: [] }));
  for (const u of users.items) $("rc-user").append(el("option", { value: u.id, text: `${u.display_name || u.username}（${u.username}）` }));
  await loadReceivers();
  await loadRoutes();
  document.body.dataset.ready = "1";
}
init().catch((e) => toast(e.message, true));
