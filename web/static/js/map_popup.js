// The station popup of the map: status and AQI (GET /api/v1/stations/{id}) and per factor,
// by name and unit (code in the tooltip), the value now, the last hour's value, the 24-hour
// mean and the daily mean so far (GET /api/v1/map/stations/{id}/values).
import { api, el, fmtTime, fmtNumber, aqiChip, STATUS_LABEL, stName } from "./common.js";

const hours = (n) => `${n} 小时`;

function cell(value, title = "", cls = "") {
  if (value === null || value === undefined) return el("td", { class: "muted", title: title || "无有效数值", text: "—" });
  return el("td", { class: cls, title, text: fmtNumber(value) });
}

function valuesTable(v) {
  if (!v.factors.length) {
    return el("p", { class: "muted empty-state", text: "这个站点还没有上报数据：数据到达后这里显示当前值、小时值和日均值" });
  }
  const hour = `${fmtTime(v.hour).slice(11, 13)}时`;
  return el("table", { class: "popup-values" },
    el("thead", {}, el("tr", {},
      el("th", { text: "因子" }), el("th", { text: "当前" }), el("th", { text: "1 小时", title: `${hour}的小时值` }),
      el("th", { text: "24 小时", title: `截至${hour}的 24 小时均值` }), el("th", { text: "日均", title: `${v.day} 截至${hour}的有效小时均值` }))),
    el("tbody", {}, ...v.factors.map((f) => el("tr", { dataset: { code: f.code } },
      el("td", { title: f.code }, f.name, f.unit ? el("span", { class: "muted", text: ` ${f.unit}` }) : ""),
      cell(f.now, f.flag && f.flag !== "N" ? `${f.flag_label || ""}（${f.flag}）` : "", f.over_limit ? "over" : ""),
      cell(f.h1, `${hour}小时值`),
      cell(f.h24, f.n24 ? `${hours(f.n24)}有效值的均值` : ""),
      cell(f.day_mean, f.n_day ? `${v.day} ${hours(f.n_day)}有效值的均值` : "今日还没有完整的有效小时")))));
}

export async function popupContent(id) {
  const [s, v] = await Promise.all([api(`/api/v1/stations/${id}`), api(`/api/v1/map/stations/${id}/values`)]);
  const aqi = s.aqi;
  return el("div", { class: "popup" },
    el("h3", {}, s.name, " ", el("span", { class: `status ${s.status}`, text: STATUS_LABEL[s.status] })),
    el("div", { class: "muted", text: `${s.mn} · ${stName(s.st)} · ${s.region || ""}` }),
    aqi && aqi.aqi === null ? el("div", {}, "AQI ", aqiChip(null, aqi.color, "NA"), " NA",  // HJ 633—2026 §5.3.1
      el("span", { class: "muted", text: `（缺 ${aqi.missing.join("、")}，其余指标 AQI ≤ 100，按 ${aqi.standard} 不发布）` }))
    : aqi ? el("div", {}, "AQI ", aqiChip(aqi.aqi, aqi.color, aqi.category), " ", aqi.category || "",
      aqi.primary.length ? ` · 首要污染物 ${aqi.primary.join("、")}` : "",
      el("span", { class: "muted", text: aqi.basis === "hour" ? ` · ${fmtTime(s.aqi_hour).slice(11, 13)}时小时值` : " · 最新实时值" }))
      : el("div", { class: "muted", text: "AQI：无数据（站点上报 PM2.5 等污染物后计算）" }),
    valuesTable(v),
    el("div", { class: "muted", text: s.last_data_time ? `数据时间 ${fmtTime(s.last_data_time)}` : "尚未收到数据" }),
    el("a", { href: `/stations/${s.id}`, text: "查看站点 →" }));
}
