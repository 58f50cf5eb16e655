// Silences (mute notifications for a while) and maintenance windows (one-off or weekly).
import { editForm, showError } from "./alert_forms.js";
import { matcherText } from "./alert_format.js";
import { api, config, el, fmtTime, toast } from "./common.js";

const $ = (id) => document.getElementById(id);
const DAYS = ["一", "二", "三", "四", "五", "六", "日"];

function ids(text) { return text.split(/[\s,，]+/).filter(Boolean); }

function matchersOf(station, region, rule) {
  const m = {};
  if (ids(station).length) m.station = ids(station);
  if (ids(region).length) m.region = ids(region);
  if (rule) m.rule = [rule];
  return m;
}

function showMatchers(m) {
  return matcherText(m, "全部");
}

function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
function isoOf(local) { return local ? new Date(local).toISOString() : undefined; }

async function loadSilences() {
  const rows = await api("/api/v1/alert-silences", { query: { active: $("si-active").checked ? "true" : "" } });
  $("si-table").tBodies[0].replaceChildren(...(rows.length ? rows.map((s) => el("tr", { dataset: { id: s.id } },
    el("td", { text: showMatchers(s.matchers) }), el("td", { text: fmtTime(s.starts_at) }), el("td", { text: fmtTime(s.ends_at) }),
    el("td", { text: s.created_by }), el("td", { text: s.comment }),
    el("td", {}, config.canSilence && s.active ? el("button", { class: "secondary small", type: "button", text: "结束", onclick: async () => {
      try { await api(`/api/v1/alert-silences/${s.id}/expire`, { method: "POST" }); toast("已结束静默"); loadSilences(); } catch (e) { toast(e.message, true); }
    } }) : null))) : [el("tr", {}, el("td", { colspan: 6, class: "muted", text: "没有静默" }))]));
}

async function loadWindows() {
  const rows = await api("/api/v1/alert-windows");
  $("wi-table").tBodies[0].replaceChildren(...(rows.length ? rows.map((w) => el("tr", { dataset: { id: w.id } },
    el("td", { text: w.name }), el("td", { text: showMatchers(w.matchers) }),
    el("td", { text: w.recurring
      ? `每周${(w.weekdays.length ? w.weekdays : [1, 2, 3, 4, 5, 6, 7]).map((d) => DAYS[d - 1]).join("、")} ${w.time_ranges.map((r) => r.join("–")).join("，")}`
      : `${fmtTime(w.starts_at)} — ${fmtTime(w.ends_at)}` }),
    el("td", { text: !w.enabled ? "停用" : w.active ? "进行中" : "启用" }),
    el("td", {}, config.canSilence ? [
      el("button", { class: "secondary small", type: "button", text: "编辑", onclick: () => edit(w) }),
      el("button", { class: "danger", type: "button", text: "删除", onclick: async () => {
        try { await api(`/api/v1/alert-windows/${w.id}`, { method: "DELETE" }); loadWindows(); } catch (e) { toast(e.message, true); }
      } })] : null))) : [el("tr", {}, el("td", { colspan: 5, class: "muted", text: "没有维护窗口" }))]));
}

function edit(w) {
  $("wi-id").value = w.id; $("wi-name").value = w.name;
  $("wi-station").value = (w.matchers.station || []).join(","); $("wi-region").value = (w.matchers.region || []).join(",");
  $("wi-recurring").checked = w.recurring;
  $("wi-start").value = localInput(w.starts_at); $("wi-end").value = localInput(w.ends_at);
  for (const box of $("wi-days").querySelectorAll("input")) box.checked = w.weekdays.includes(Number(box.value));
  $("wi-ranges").value = w.time_ranges.map((r) => r.join("-")).join(",");
  $("wi-comment").value = w.comment;
  $("wi-form-title").textContent = `修改维护窗口 ${w.name}`;
}

$("si-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("si-error").hidden = true;
  try {
    await api("/api/v1/alert-silences", { method: "POST", body: {
      matchers: matchersOf($("si-station").value, $("si-region").value, $("si-rule").value),
      duration_min: Number($("si-minutes").value), comment: $("si-comment").value } });
    toast("已静默"); $("si-form").reset(); loadSilences();
  } catch (e) { showError("si-error", e); }
});

editForm("wi", { url: "/api/v1/alert-windows", newTitle: "新建维护窗口", saved: () => loadWindows(), body: () => {
  const recurring = $("wi-recurring").checked;
  return {
    name: $("wi-name").value.trim(), matchers: matchersOf($("wi-station").value, $("wi-region").value, ""),
    recurring, starts_at: isoOf($("wi-start").value), ends_at: isoOf($("wi-end").value),
    weekdays: [...$("wi-days").querySelectorAll("input:checked")].map((b) => Number(b.value)),
    time_ranges: $("wi-ranges").value.split(/[\s,，]+/).filter(Boolean).map((r) => r.split("-")),
    timezone: config.timezone, comment: $("wi-comment").value,
  };
} });
$("si-active").addEventListener("change", loadSilences);

async function init() {
  for (const [k, v] of Object.entries(config.rules)) $("si-rule").append(el("option", { value: k, text: v }));
  DAYS.forEach((d, i) => $("wi-days").append(el("label", { class: "chk" }, el("input", { type: "checkbox", value: i + 1 }), `周${d}`)));
  $("si-form-panel").hidden = $("wi-form-panel").hidden = !config.canSilence;
  await Promise.all([loadSilences(), loadWindows()]);
  document.body.dataset.ready = "1";
}
init().catch((e) => toast(e.message, true));
