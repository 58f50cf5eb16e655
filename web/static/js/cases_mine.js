// 我的案件: the open cases the caller's role can act on (unit: its own), by deadline.
import { api, config, el, toast } from "./common.js";
import { caseCard, ready, ROLE_LABEL } from "./cases_common.js";

const actor = config.actor || {};
let offset = 0;
document.getElementById("who").textContent =
  `${actor.name || ""}（${ROLE_LABEL[actor.role] || actor.role}）：以下是当前需要您处理的案件，按时限先后排列。`;

async function load(append = false) {
  if (!append) offset = 0;
  const data = await api("/api/v1/cases/mine", { query: { limit: 50, offset } });
  const list = document.getElementById("mine-list");
  const now = Date.now();
  const cards = data.items.map((c) => caseCard(c, now));
  if (append) list.append(...cards);
  else list.replaceChildren(...(cards.length ? cards : [el("p", { class: "muted empty-state", text: "当前没有需要您处理的案件。新案件受理、派遣到您或您的单位后显示在这里；办理过的案件见“已办”" })]));
  offset += data.items.length;
  document.getElementById("mine-more").hidden = offset >= data.total;
  document.body.dataset.cases = String(data.total);
}
document.getElementById("mine-more").addEventListener("click", () => load(true).catch((e) => toast(e.message, true)));
load().then(ready).catch((e) => toast(e.message, true));
