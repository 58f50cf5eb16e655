// Users and roles (admins): create/edit users, role, data scope, disable, unlock, reset.
import { api, el, fmtTime, toast, emptyRow } from "./common.js";
import { CHANNEL_ZH } from "./alert_format.js";

const $ = (id) => document.getElementById(id);
let roles = [];
let areaNames = new Map();
let canReceivers = false;
const KIND_ZH = CHANNEL_ZH;

function resetForm() {
  $("user-form").reset(); $("u-id").value = ""; $("u-username").disabled = false;
  $("u-form-title").textContent = "新增用户"; $("u-error").hidden = true;
}
$("u-reset").addEventListener("click", resetForm);

$("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("u-error").hidden = true;
  const id = $("u-id").value;
  const scope = [...$("u-scope").selectedOptions].map((o) => Number(o.value));
  const receiverIds = [...$("u-receivers").selectedOptions].map((o) => Number(o.value));
  const body = { display_name: $("u-display").value, phone: $("u-phone").value, role: $("u-role").value, scope, enabled: $("u-enabled").checked };
  if (canReceivers) body.receiver_ids = receiverIds;
  try {
    if (id) {
      await api(`/api/v1/users/${id}`, { method: "PATCH", body });
      if ($("u-password").value) await api(`/api/v1/users/${id}/password`, { method: "POST", body: { password: $("u-password").value } });
    } else {
      delete body.enabled;
      delete body.receiver_ids;
      const created = await api("/api/v1/users", { method: "POST", body: { ...body, username: $("u-username").value.trim(), password: $("u-password").value } });
      if (canReceivers && receiverIds.length) await api(`/api/v1/users/${created.id}`, { method: "PATCH", body: { receiver_ids: receiverIds } });
    }
    toast("已保存"); resetForm(); loadUsers();
  } catch (e) { $("u-error").textContent = e.message; $("u-error").hidden = false; }
});

function edit(u) {
  $("u-id").value = u.id; $("u-username").value = u.username; $("u-username").disabled = true;
  $("u-display").value = u.display_name; $("u-phone").value = u.phone || ""; $("u-role").value = u.role;
  $("u-enabled").checked = u.enabled; $("u-password").value = "";
  for (const o of $("u-scope").options) o.selected = u.scope.includes(Number(o.value));
  const mine = (u.receivers || []).map((r) => r.id);
  for (const o of $("u-receivers").options) o.selected = mine.includes(Number(o.value));
  $("u-form-title").textContent = `修改用户 ${u.username}`;
  $("user-form").scrollIntoView({ behavior: "smooth" });
}

async function loadUsers() {
  const data = await api("/api/v1/users", { query: { limit: 500 } });
  $("users-table").tBodies[0].replaceChildren(...data.items.map((u) => {
    const locked = u.locked_until && new Date(u.locked_until) > new Date();
    return el("tr", {},
      el("td", { translate: "no", text: u.username }), el("td", { text: u.display_name }), el("td", { text: u.role_title }),
      el("td", { text: u.scope.length ? u.scope.map((a) => areaNames.get(a) || a).join("、") : "全部" }),
      el("td", { class: "receivers", text: (u.receivers || []).map((r) => `${r.name}（${KIND_ZH[r.kind] || r.kind}）`).join("、") || "—" }),
      el("td", { text: !u.enabled ? "停用" : locked ? "已锁定" : "正常" }),
      el("td", { text: u.last_login_at ? `${fmtTime(u.last_login_at)} ${u.last_login_ip || ""}` : "—" }),
      el("td", {}, el("button", { class: "secondary", type: "button", text: "编辑", onclick: () => edit(u) }),
        locked ? el("button", { class: "secondary", type: "button", text: "解锁", onclick: async () => {
          await api(`/api/v1/users/${u.id}`, { method: "PATCH", body: { unlock: true } }); loadUsers(); } }) : null));
  }));
  if (!data.items.length) $("users-table").tBodies[0].replaceChildren(emptyRow(9, "您的范围内还没有用户", "请用上方表单新建用户"));
}

async function init() {
  const [r, areas] = await Promise.all([api("/api/v1/roles"), api("/api/v1/areas")]);
  roles = r.roles;
  areaNames = new Map(areas.map((a) => [a.id, a.name]));
  for (const role of roles) $("u-role").append(el("option", { value: role.name, text: role.title_zh }));
  const receivers = await api("/api/v1/alert-receivers").catch(() => null);
  canReceivers = receivers !== null;
  $("u-receivers").closest("label").hidden = !canReceivers;
  for (const r of receivers || []) {
    $("u-receivers").append(el("option", { value: r.id, text: `${r.name}（${KIND_ZH[r.kind] || r.kind}：${r.address}）${r.username ? " · 现属 " + r.username : ""}` }));
  }
  for (const a of areas) $("u-scope").append(el("option", { value: a.id, title: `编码 ${a.code}`, text: `${"　".repeat(a.level - 1)}${a.name}` }));
  $("roles-table").tBodies[0].replaceChildren(...roles.map((role) => el("tr", {},
    el("td", { title: role.name, text: role.title_zh }),
    el("td", { text: role.permissions.includes("*") ? "全部权限" : role.permissions.map((p) => r.permissions[p] || p).join("、") }))));
  if (!roles.length) $("roles-table").tBodies[0].replaceChildren(emptyRow(3, "没有可显示的角色", "请检查 web.roles 配置"));
  await loadUsers();
  document.body.dataset.ready = "1";
}
init().catch((e) => toast(e.message, true));
