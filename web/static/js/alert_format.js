// How alerts are shown (list, detail, station page).
import { fmtNumber } from "./common.js";

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
