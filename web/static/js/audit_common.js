// Shared by the station page's audit panel and the 数据审核 page: local (platform time
// zone) times for inputs and tables, and one log table row.
import { el, zoneOffsetMs } from "./common.js";

export const ACTION_LABEL = { invalidate: "标记无效", restore: "恢复" };

// "YYYY-MM-DD HH:MM" on the platform's wall clock.
export function localText(value) {
  const ms = typeof value === "number" ? value : Date.parse(value);
  return new Date(ms + zoneOffsetMs(ms)).toISOString().slice(0, 16).replace("T", " ");
}

// The ISO offset ("+08:00") of the platform's zone at an instant.
export function offsetText(ms) {
  const m = Math.round(zoneOffsetMs(ms) / 60000);
  const a = Math.abs(m);
  return `${m < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

// A datetime-local value ("YYYY-MM-DDTHH:MM", platform wall clock) as an ISO instant.
export function wallToIso(value) {
  const guess = Date.parse(`${value}:00Z`);
  return `${value}:00${offsetText(guess - zoneOffsetMs(guess))}`;
}

// One empty-table row saying so (``columns`` wide): the dashboard's one helper.
export { emptyRow } from "./common.js";

export function logRow(e, { station = false } = {}) {
  const kind = e.actor_kind === "cli" ? "命令行" : "平台";
  return el("tr", { dataset: { id: e.id } },
    el("td", { text: localText(e.ts) }),
    el("td", { text: `${e.actor}（${kind}）` }),
    el("td", { text: ACTION_LABEL[e.action] || e.action }),
    ...(station ? [el("td", { text: e.mn })] : []),
    el("td", { text: (e.factor_names || e.factors).join("、") }),
    el("td", { text: `${localText(e.from)} – ${localText(e.to)}` }),
    el("td", { text: String(e.n_changed) }),
    el("td", { text: e.reason }),
    el("td", { text: e.note || "" }));
}
