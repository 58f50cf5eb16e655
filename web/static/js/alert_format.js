// How alerts are shown (list, detail, station page).
import { config, fmtNumber } from "./common.js";

const MATCHER_LABEL = { station: "站点", region: "区县", grid: "网格", rule: "规则", severity: "级别", st: "类型", factor: "因子", worker: "接入进程", scope: "范围" };

/** A silence's or route's matchers as words: 规则：恒值/突变；级别：严重 (``empty`` when none). */
export function matcherText(m, empty) {
  const word = (k, x) => (k === "rule" ? config.rules?.[x] : k === "severity" ? config.severities?.[x] : null) || x;
  return Object.entries(m || {}).map(([k, v]) => `${MATCHER_LABEL[k] || k}：${v.map((x) => word(k, x)).join("/")}`).join("；") || empty;
}

export function alertPlace(a) {
  if (a.station_id) return `${a.station_name || a.station_mn || "站点" + a.station_id}${a.region ? "（" + a.region + "）" : ""}`;
  return a.region || a.scope_key;
}

export function alertValue(a) {
  if (a.value === null || a.value === undefined) return "—";
  const unit = a.factor_unit ? ` ${a.factor_unit}` : "";
  const limit = a.threshold !== null && a.threshold !== undefined ? ` / 限值 ${fmtNumber(a.threshold)}` : "";
  return `${fmtNumber(a.value)}${unit}${limit}`;
}
