// How alerts are shown (list, detail, station page).
import { config, fmtNumber } from "./common.js";

const MATCHER_LABEL = { station: "站点", region: "区县", grid: "网格", rule: "规则", severity: "级别", st: "类型", factor: "因子", worker: "接入进程", scope: "范围" };

/** Notification channels by name. */
export const CHANNEL_ZH = { email: "邮件", webhook: "Webhook", wecom: "企业微信", dingtalk: "钉钉", aliyun_sms: "阿里云短信", tencent_sms: "腾讯云短信" };

/** Who did something: a user's name as stored; the platform itself and the command line in words. */
export function actorName(who) {
  return { system: "系统（自动）", cli: "命令行", web: "网页" }[who] || who || "—";
}

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
