// 投诉进度查询 (public, no log-in): receipt number + phone → phase, dates and replies.
import { el, fmtTime } from "./common.js";
import { ready } from "./cases_common.js";

document.getElementById("s-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("s-error");
  const result = document.getElementById("s-result");
  error.textContent = "";
  result.hidden = true;
  const button = document.getElementById("s-submit");
  button.disabled = true;
  try {
    const res = await fetch("/api/v1/public/complaints/status", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ code: document.getElementById("s-code").value, phone: document.getElementById("s-phone").value }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((data.error && data.error.message) || `查询失败（${res.status}）`);
    result.replaceChildren(
      el("p", {}, "受理编号：", el("b", { text: data.code })),
      el("p", {}, "办理进度：", el("b", { id: "s-status", text: data.status })),
      el("ul", { class: "steps" }, data.steps.map((s) => el("li", { text: `${fmtTime(s.at)} ${s.label}` }))),
      data.replies.length
        ? el("div", {}, el("h2", { text: "答复" }), ...data.replies.map((r) => el("p", { class: "reply" }, el("span", { class: "muted", text: `${fmtTime(r.at)} ${r.step}：` }), r.text)))
        : el("p", { class: "muted", text: data.finished ? "本投诉已办理结束。" : "办理完毕后这里会显示答复。" }));
    result.hidden = false;
  } catch (e) {
    error.textContent = e.message;
  } finally { button.disabled = false; }
});
ready();
