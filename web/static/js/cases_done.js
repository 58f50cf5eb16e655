// 已办案件: the cases I acted on (an action or a note of mine in their trail), newest first.
import { api, config, el, fmtTime, toast } from "./common.js";
import { caseCard, ready, ROLE_LABEL, SOURCE_LABEL } from "./cases_common.js";

const actor = config.actor || {};
let offset = 0;
document.getElementById("who").textContent =
  `${actor.name || ""}（${ROLE_LABEL[actor.role] || actor.role}）：以下是您办理过的案件，按您最近一次操作倒序排列。`;
const source = document.getElementById("f-source");
for (const [code, name] of Object.entries(SOURCE_LABEL)) source.append(el("option", { value: code, text: name }));

function query() {
  const q = { limit: 50, offset };
  for (const name of ["from", "to", "open", "source", "q"]) {
    const value = document.querySelector(`#done-filter [name="${name}"]`).value.trim();
    if (value) q[name] = value;
  }
  return q;
}

function filtered() {
  return [...document.querySelectorAll("#done-filter [name]")].some((i) => i.value.trim());
}

function card(c, now) {
  const a = caseCard(c, now);
  a.append(el("div", { class: "sub" }, `我最近的操作：${c.acted_label}（${fmtTime(c.acted_at)}），共 ${c.acted_count} 次`));
  return a;
}

function empty(data) {
  if (!data.linked) return "您的账号未关联网格人员，案件流转记录中没有以您名义的操作，因此没有已办案件。请管理员在“网格人员”中关联账号。";
  return filtered() ? "当前筛选条件下没有已办案件。" : "您还没有办理过案件：受理、派遣、处置、核查或备注过的案件会列在这里。";
}

async function load(append = false) {
  if (!append) offset = 0;
  const data = await api("/api/v1/cases/done", { query: query() });
  const list = document.getElementById("done-list");
  const now = Date.now();
  const cards = data.items.map((c) => card(c, now));
  if (append) list.append(...cards);
  else list.replaceChildren(...(cards.length ? cards : [el("p", { class: "muted empty", text: empty(data) })]));
  offset += data.items.length;
  document.getElementById("done-more").hidden = offset >= data.total;
  document.body.dataset.cases = String(data.total);
}
document.getElementById("done-filter").addEventListener("submit", (ev) => {
  ev.preventDefault();
  load().catch((e) => toast(e.message, true));
});
document.getElementById("done-more").addEventListener("click", () => load(true).catch((e) => toast(e.message, true)));
load().then(ready).catch((e) => toast(e.message, true));
