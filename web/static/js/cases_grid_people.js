// 人员与单位: grid people and their duties, responsible units (and which area they answer
// for), patrol points — the forms over the grid API (POST/PATCH people, duties, units,
// points); what the server refuses is shown as its Chinese message.
import { api, config, el, toast, ST_LABEL } from "./common.js";
import { ready, DUTY_LABEL, ROLE_LABEL } from "./cases_common.js";

const $ = (id) => document.getElementById(id);
const KIND_LABEL = { department: "专业部门", street: "街道", company: "企业", other: "其他" };
const LEVELS = config.levelNames || ["市", "区县", "街道(乡镇)", "社区(村)", "网格"];
const state = { people: [], units: [], areas: [], points: [], items: [] };
const stLabel = (st) => (st === "*" ? "全部类型" : ST_LABEL[st] || `系统编码 ${st}`);

function options(select, items, value, label, blank) {
  select.replaceChildren(...(blank ? [el("option", { value: "", text: blank })] : []),
    ...items.map((x) => el("option", { value: value(x), text: label(x) })));
}

// codes are data the bureau chose (unit, point and check-item codes), shown as such
const code = (text) => el("code", { text });

function row(cells, data) {
  return el("tr", { dataset: data }, cells.map((c) => el("td", {}, c)));
}

function dutyChip(p, d) {
  return el("span", { class: "chip" }, `${d.area_name}·${DUTY_LABEL[d.duty] || d.duty} `,
    el("button", { type: "button", class: "link", title: "取消该职责", text: "×",
      onclick: () => act(() => api(`/api/v1/grid/areas/${d.area_id}/duties/${p.id}`, { method: "DELETE", query: { duty: d.duty } }), "已取消职责") }));
}

function render() {
  $("gp-people").tBodies[0].replaceChildren(...state.people.map((p) => row([
    p.name, ROLE_LABEL[p.role] || p.role, p.phone || "—", p.unit_name || "—", p.user_name || "—",
    el("span", {}, p.duties.map((d) => dutyChip(p, d))),
    el("button", { type: "button", class: "btn", text: p.active ? "停用" : "启用",
      onclick: () => act(() => api(`/api/v1/grid/people/${p.id}`, { method: "PATCH", body: { active: !p.active } }), p.active ? "已停用" : "已启用") }),
  ], { id: p.id, name: p.name })));
  $("gp-people-empty").hidden = state.people.length > 0;
  $("gp-units").tBodies[0].replaceChildren(...state.units.map((u) => row(
    [code(u.code), u.name, KIND_LABEL[u.kind] || u.kind, u.phone || "—", String(u.people)], { code: u.code })));
  $("gp-units-empty").hidden = state.units.length > 0;
  $("gp-points").tBodies[0].replaceChildren(...state.points.map((p) => row(
    [code(p.code), p.name, p.kind || "—", p.lat.toFixed(6), p.lon.toFixed(6), p.grid_name || "（不在任何网格内）"], { code: p.code })));
  $("gp-points-empty").hidden = state.points.length > 0;
  $("gp-items").tBodies[0].replaceChildren(...state.items.map((i) => row([
    stLabel(i.st), code(i.code), i.label, String(i.position),
    el("button", { type: "button", class: "btn", text: "停用",
      onclick: () => act(() => api("/api/v1/patrol/check-items", { method: "PUT", body: { ...i, active: false } }), "已停用检查项") }),
  ], { key: `${i.st}/${i.code}` })));
  const areaLabel = (a) => `${"　".repeat(a.level - 1)}${a.name}（${LEVELS[a.level - 1]}）`;
  options($("gp-p-unit"), state.units, (u) => u.id, (u) => u.name, "（无）");
  options($("gp-d-person"), state.people.filter((p) => p.active), (p) => p.id, (p) => `${p.name}（${ROLE_LABEL[p.role] || p.role}）`);
  options($("gp-d-area"), state.areas, (a) => a.id, areaLabel);
  options($("gp-au-area"), state.areas, (a) => a.id, areaLabel);
  options($("gp-au-unit"), state.units, (u) => u.id, (u) => u.name);
}

async function load() {
  const [people, units, areas, points, items] = await Promise.all([
    api("/api/v1/grid/people", { query: { limit: 500 } }), api("/api/v1/grid/units"),
    api("/api/v1/grid/areas"), api("/api/v1/grid/points", { query: { limit: 1000 } }),
    api("/api/v1/patrol/check-items"),
  ]);
  Object.assign(state, { people: people.items, units, areas, points, items });
  render();
}

async function act(call, done) {
  try { await call(); toast(done); await load(); return true; } catch (e) { toast(e.message, true); return false; }
}

function submit(form, call, done) {
  $(form).addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await act(call, done)) e.target.reset();
  });
}

const value = (id) => $(id).value.trim();
const optional = (id) => value(id) || null;
options($("gp-p-role"), Object.keys(ROLE_LABEL), (r) => r, (r) => ROLE_LABEL[r]);
$("gp-p-role").value = "grid_member";
options($("gp-d-duty"), Object.keys(DUTY_LABEL), (d) => d, (d) => DUTY_LABEL[d]);
options($("gp-u-kind"), Object.keys(KIND_LABEL), (k) => k, (k) => KIND_LABEL[k]);
submit("gp-person-form", () => api("/api/v1/grid/people", { method: "POST", body: {
  name: value("gp-p-name"), phone: value("gp-p-phone"), role: $("gp-p-role").value,
  unit_id: optional("gp-p-unit") && Number(value("gp-p-unit")), user_name: optional("gp-p-user"),
} }), "已新增人员");
submit("gp-duty-form", () => api(`/api/v1/grid/areas/${value("gp-d-area")}/duties`, { method: "POST",
  body: { person_id: Number(value("gp-d-person")), duty: $("gp-d-duty").value } }), "已指定职责");
submit("gp-unit-form", () => api("/api/v1/grid/units", { method: "POST", body: {
  code: value("gp-u-code"), name: value("gp-u-name"), kind: $("gp-u-kind").value, phone: value("gp-u-phone"),
} }), "已新增单位");
submit("gp-area-unit-form", () => api(`/api/v1/grid/areas/${value("gp-au-area")}/units`, { method: "PUT",
  body: { unit_id: Number(value("gp-au-unit")), category: value("gp-au-category") || "*" } }), "已设置责任单位");
submit("gp-point-form", () => api("/api/v1/grid/points", { method: "POST", body: {
  code: value("gp-pt-code"), name: value("gp-pt-name"), kind: value("gp-pt-kind"),
  lat: Number(value("gp-pt-lat")), lon: Number(value("gp-pt-lon")),
} }), "已新增巡查点");
options($("gp-i-st"), ["*", ...Object.keys(ST_LABEL)], (st) => st, stLabel);
submit("gp-item-form", () => api("/api/v1/patrol/check-items", { method: "PUT", body: {
  st: $("gp-i-st").value, code: value("gp-i-code"), label: value("gp-i-label"),
  position: Number(value("gp-i-position") || 0),
} }), "已保存检查项");
load().then(ready).catch((e) => { toast(e.message, true); ready(); });
