// 系统备份 (admins): the backup settings in force, the backups in backup.dir, the runs and
// their progress (polled while one waits or runs), the open 备份失败 alert, 立即备份.
// No backup file is served and no copy command is shown (the API gives neither).
import { api, el, fmtTime, toast, withCode } from "./common.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const STEP_LABEL = {
  "table counts and checksums": "统计各表行数与校验和",
  "table sizes": "统计各表大小",
  "database (pg_dump)": "导出数据库（pg_dump）",
  uploads: "打包附件",
  keep: "删除超出保留数量的旧备份",
  "copy off-site": "异地复制",
};
const STATE_LABEL = { requested: "等待调度进程执行", running: "进行中", succeeded: "成功", failed: "失败", interrupted: "中断" };
const TRIGGER_LABEL = { scheduled: "定时", manual: "手动" };
const ENGINE_LABEL = { postgresql: "PostgreSQL", timescaledb: "TimescaleDB" };

function fmtSize(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}
const count = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("zh-CN"));
const seconds = (s) => (s === null || s === undefined ? "—" : `${s.toFixed(1)} 秒`);
const baseName = (path) => (path ? path.split("/").pop() : "—");

function showSettings(s) {
  const rows = [
    ["定时备份", s.schedule ? `每天 ${s.schedule}（${s.timezone}）` : withCode("未配置（`backup.schedule` 为空），只能手动或用命令行备份")],
    ["保留数量", `最新 ${s.keep} 个`],
    ["备份目录", el("code", { text: s.dir })],
    ["异地复制", s.copy_command ? `已配置（命令内容不在网页显示；超时 ${s.copy_timeout_s} 秒）` : "未配置"],
    ["校验和", s.checksums ? "逐表精确行数与校验和" : "只记录估计行数"],
  ];
  $("backup-settings").tBodies[0].replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", {}, v))));
}

function showFiles(data) {
  // a path is shown as written (code), as the page's other file names
  $("backup-dir").replaceChildren(el("code", { text: data.settings.dir }), " 中的备份（新的在前）：");
  const body = $("backup-table").tBodies[0];
  if (!data.items.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 10, class: "muted", text: "目录中还没有备份" })));
    return;
  }
  body.replaceChildren(...data.items.map((b) => b.error
    ? el("tr", { class: "bad" }, el("td", { text: "—" }), el("td", { text: b.file }), el("td", { text: fmtSize(b.size) }),
      el("td", { colspan: 7, text: `无法读取：${b.error}` }))
    : el("tr", {},
      el("td", { text: fmtTime(b.created_at) }), el("td", {}, el("code", { text: b.file })), el("td", { text: fmtSize(b.size) }),
      el("td", { text: ENGINE_LABEL[b.engine] || b.engine }), el("td", { text: String(b.schema_version).padStart(4, "0") }),
      el("td", { text: count(b.shown_rows.measurements) }), el("td", { text: count(b.shown_rows.agg_hourly) }),
      el("td", { text: count(b.shown_rows.packet_ledger) }), el("td", { text: count(b.rows) }),
      el("td", { text: b.secret_key ? "含密钥" : "无密钥" }))));
  $("restore-command").textContent = `${data.items[0].restore_command} --data-dir 新的数据目录`;
}

function runText(r) {
  const when = fmtTime(r.started_at || r.requested_at);
  if (r.state === "succeeded") return `${when} 成功：${baseName(r.file)}，${fmtSize(r.size)}，用时 ${seconds(r.seconds)}`;
  if (r.state === "failed" || r.state === "interrupted") return `${when} ${STATE_LABEL[r.state]}：${r.error || "执行备份的进程已停止"}`;
  return `${when} ${STATE_LABEL[r.state]}`;
}

function showStatus(st) {
  const alert = $("backup-alert");
  alert.hidden = !st.alert;
  if (st.alert) alert.textContent = `未解除的告警“备份失败”（首次 ${fmtTime(st.alert.fired_at)}，共 ${st.alert.count} 次）：${st.alert.reason}`;
  $("backup-last").textContent = st.last_scheduled ? `上次定时备份：${runText(st.last_scheduled)}` : "还没有定时备份的记录。";
  const cur = st.current, bar = $("backup-progress");
  $("backup-start").disabled = Boolean(cur);
  if (!cur) {
    $("backup-current").textContent = "当前没有进行中的备份。";
    bar.hidden = true;
  } else if (cur.state === "requested") {
    const waited = Math.round((Date.now() - new Date(cur.requested_at)) / 1000);
    $("backup-current").replaceChildren(...withCode(`${cur.requested_by || ""} 于 ${fmtTime(cur.requested_at)} 请求的备份正在等待调度进程执行（已等待 ${waited} 秒；调度进程每 5 秒检查一次，长时间等待请确认 \`envgrid serve\` 的定时任务进程在运行）。`));
    bar.hidden = true;
  } else {
    const step = STEP_LABEL[cur.step] || cur.step || "准备";
    const done = cur.step_total ? ` ${fmtSize(cur.step_done)} / ${fmtSize(cur.step_total)}` : cur.step_done ? ` 已写入 ${fmtSize(cur.step_done)}` : "";
    $("backup-current").textContent = `${TRIGGER_LABEL[cur.trigger]}备份进行中（${fmtTime(cur.started_at)} 开始，主机 ${cur.host || "—"}）：${step}${done}`;
    bar.hidden = false;
    if (cur.step_total) bar.value = Math.min(100, (100 * cur.step_done) / cur.step_total);
    else bar.removeAttribute("value");
  }
  $("runs-table").tBodies[0].replaceChildren(...st.runs.map((r) => el("tr", { class: r.state === "failed" || r.state === "interrupted" ? "bad" : "" },
    el("td", { text: fmtTime(r.started_at || r.requested_at) }),
    el("td", { text: `${TRIGGER_LABEL[r.trigger]}${r.requested_by ? `（${r.requested_by}）` : ""}` }),
    el("td", { class: `run-${r.state}`, text: STATE_LABEL[r.state] || r.state }),
    el("td", { text: seconds(r.seconds) }), el("td", { text: r.file ? `${baseName(r.file)}（${fmtSize(r.size)}）` : "—" }),
    el("td", { text: r.error || "" }))));
}

let timer = null;
let running = false;

async function poll() {
  const st = await api("/api/v1/backups/status");
  showStatus(st);
  if (st.current) {
    running = true;
    clearTimeout(timer);
    timer = setTimeout(() => poll().catch((e) => toast(e.message, true)), POLL_MS);
  } else if (running) {
    running = false;
    const last = st.runs[0];
    if (last) toast(last.state === "succeeded" ? "备份完成" : `备份${STATE_LABEL[last.state] || last.state}：${last.error || ""}`, last.state !== "succeeded");
    showFiles(await api("/api/v1/backups"));
  }
}

$("backup-start").addEventListener("click", async () => {
  if (!confirm("立即备份？备份在服务器后台进行，期间系统照常运行。")) return;
  try {
    await api("/api/v1/backups", { method: "POST", body: {} });
    toast("已请求备份，等待调度进程执行");
  } catch (e) {
    toast(e.message, true);
  }
  await poll();
});

async function load() {
  const [overview] = await Promise.all([api("/api/v1/backups"), poll()]);
  showSettings(overview.settings);
  showFiles(overview);
  document.body.dataset.ready = "1";
}
load().catch((e) => toast(e.message, true));
