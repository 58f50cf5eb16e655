import { api, config, toast } from "./common.js";

if (config.mustChange) document.getElementById("pw-reason").hidden = false;
document.getElementById("pw-policy").textContent = `至少 ${config.minLength} 位，须同时包含字母和数字。`;
const err = document.getElementById("pw-error");
document.getElementById("pw-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  err.hidden = true;
  const current = document.getElementById("pw-current").value;
  const next = document.getElementById("pw-new").value;
  if (next !== document.getElementById("pw-again").value) { err.textContent = "两次输入的新密码不一致"; err.hidden = false; return; }
  try {
    await api("/api/v1/auth/password", { method: "POST", body: { current_password: current, new_password: next } });
    toast("密码已修改");
    setTimeout(() => { location.href = "/"; }, 800);
  } catch (e) { err.textContent = e.message; err.hidden = false; }
});
document.body.dataset.ready = "1";
