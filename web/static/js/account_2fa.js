// TOTP enrolment of the logged-in user: a new secret (QR code + base32, shown once),
// confirmed with a code before it counts.
import { api, config, toast } from "./common.js";

const $ = (id) => document.getElementById(id);

async function show() {
  const st = await api("/api/v1/auth/2fa");
  $("tf-required").hidden = !config.mustEnrol;
  $("tf-state").textContent = st.enabled
    ? `已启用双因素认证（${st.confirmed_at ? new Date(st.confirmed_at).toLocaleString("zh-CN") : ""}）。如需更换手机，请联系管理员重置。`
    : st.required ? "未绑定（您的角色要求绑定）" : "未启用（可选）";
  $("tf-start").hidden = st.enabled;
  document.body.dataset.ready = "1";
}

$("tf-begin").addEventListener("click", async () => {
  try {
    const r = await api("/api/v1/auth/2fa/enrol", { method: "POST", body: {} });
    $("tf-qr").src = r.qr_svg;
    $("tf-secret").textContent = r.secret.replace(/(.{4})/g, "$1 ").trim();
    $("tf-start").hidden = true;
    $("tf-enrol").hidden = false;
    $("tf-code").focus();
  } catch (e) { toast(e.message, true); }
});

$("tf-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("tf-error").hidden = true;
  try {
    await api("/api/v1/auth/2fa/confirm", { method: "POST", body: { code: $("tf-code").value } });
    $("tf-enrol").hidden = true;
    $("tf-qr").removeAttribute("src");
    $("tf-secret").textContent = "";
    toast("双因素认证已启用");
    if (config.mustEnrol) setTimeout(() => { location.href = "/"; }, 800);
    else await show();
  } catch (e) { $("tf-error").textContent = e.message; $("tf-error").hidden = false; }
});

show().catch((e) => toast(e.message, true));
