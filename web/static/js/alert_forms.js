// The create/edit forms of the alert pages: "<p>-form" with a hidden "<p>-id" (empty: a new
// one), "<p>-form-title", and the "<p>-reset" / "<p>-error" of _macros.html form_actions.
import { api, toast } from "./common.js";

const $ = (id) => document.getElementById(id);

export function showError(id, e) { $(id).textContent = e.message; $(id).hidden = false; }

// Saves body() with PUT url/<id> (editing) or POST url (new), then resets and calls saved().
export function editForm(prefix, { url, newTitle, body, saved }) {
  const reset = () => { $(`${prefix}-form`).reset(); $(`${prefix}-id`).value = ""; $(`${prefix}-form-title`).textContent = newTitle; };
  $(`${prefix}-form`).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $(`${prefix}-error`).hidden = true;
    const data = body();
    try {
      const id = $(`${prefix}-id`).value;
      if (id) await api(`${url}/${id}`, { method: "PUT", body: data });
      else await api(url, { method: "POST", body: data });
      toast("已保存"); reset(); saved();
    } catch (e) { showError(`${prefix}-error`, e); }
  });
  $(`${prefix}-reset`).addEventListener("click", reset);
}
