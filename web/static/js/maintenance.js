// Maintenance view (phone first): online/offline, last upload, offline duration, navigation.
import { api, config, el, fmtTime, fmtDuration, toast, stName, FILTERED_EMPTY } from "./common.js";

const q = document.getElementById("m-q");
const status = document.getElementById("m-status");
document.getElementById("m-window").textContent = String(Math.round((config.onlineWindowS || 900) / 60));

async function load() {
  const data = await api("/api/v1/maintenance/stations", { query: { q: q.value, status: status.value, limit: 500 } });
  const list = document.getElementById("m-list");
  list.replaceChildren(...data.items.map((s) => el("li", { class: "card " + (s.online ? "online" : "offline"), dataset: { id: s.id } },
    el("div", { class: "row" }, el("a", { class: "name", href: `/stations/${s.id}`, text: s.name }),
      el("span", { class: `status ${s.online ? "online" : "offline"}`, text: s.online ? "在线" : "离线" })),
    el("div", { class: "sub", text: `${s.mn} · ${stName(s.st)} · ${s.region || ""}` }),
    el("div", { class: "sub", text: `最近上传：${fmtTime(s.last_data_at)}` }),
    s.online ? null : el("div", { class: "sub offline-for", text: `离线时长：${fmtDuration(s.silent_s)}` }),
    s.address ? el("div", { class: "sub", text: s.address }) : null,
    s.nav_url ? el("a", { class: "btn nav-link", href: s.nav_url, text: "导航到站点" }) : null)));
  if (!data.items.length) {
    list.replaceChildren(el("li", { class: "card empty-state", text: q.value || status.value
      ? `${FILTERED_EMPTY}：请检查搜索词或状态筛选` : "您的数据范围内还没有站点：请联系管理员分配区域或网格" }));
  }
  const off = data.items.filter((s) => !s.online).length;
  document.getElementById("m-counts").textContent = `共 ${data.total} 站，本页离线 ${off} 站`;
  document.body.dataset.ready = "1";
}
let timer = null;
q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 300); });
status.addEventListener("change", load);
load().catch((e) => toast(e.message, true));
setInterval(() => load().catch(() => {}), 60000);
