// The login form: the user's name and password are checked by the node (GET ws/admin/me) and, if right,
// kept in this tab's sessionStorage for the following calls.

import { ApiError, login } from "./api.js";
import { h, replaceChildren } from "./dom.js";

export function renderLogin(target, { onLogin }) {
  const user = h("input", { id: "login-user", name: "user", autocomplete: "username", required: true });
  const password = h("input", {
    id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const message = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const form = h("form", { class: "login", "aria-label": "Log in" },
    h("h1", {}, "JQM console"),
    h("p", { class: "hint" }, "Log in with a user of the cluster (the operator's ", h("code", {}, "admin"),
      " user's password is in the Secret ", h("code", {}, "<cluster>-auth"), ")."),
    h("label", { for: "login-user" }, "User"), user,
    h("label", { for: "login-password" }, "Password"), password,
    submit, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replaceChildren(message);
    try {
      await login(user.value, password.value);
      password.value = "";
      await onLogin();
    } catch (error) {
      const refused = error instanceof ApiError && error.status === 401;
      replaceChildren(message, refused ? "Wrong user name or password." : error.message);
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  replaceChildren(target, form);
  user.focus();
}
