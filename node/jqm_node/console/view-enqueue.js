// A new job: the applications come from the job definitions (GET ws/client/jd), their default parameters
// fill the parameter rows, and the JobRequest is posted to ws/client/ji; then the new job is shown.

import { h, parametersOf, replaceChildren } from "./dom.js";

function parameterRow(key = "", value = "") {
  const row = h("div", { class: "param-row" },
    h("input", { name: "param-key", "aria-label": "parameter name", placeholder: "name", value: key, maxlength: 50 }),
    h("input", { name: "param-value", "aria-label": "parameter value", placeholder: "value", value, maxlength: 1000 }),
    h("button", { type: "button", class: "link", "aria-label": "remove parameter", onclick: () => row.remove() }, "×"));
  return row;
}

export async function renderEnqueue(target, view, params) {
  const definitions = await view.api.definitions();
  const queues = view.may("queue:read") ? await view.api.queues().catch(() => []) : [];
  if (!definitions.length) {
    replaceChildren(target, h("h1", {}, "New job"), h("p", { class: "empty" }, "This cluster has no job definition."));
    return;
  }
  const application = h("select", { id: "enqueue-app", name: "applicationName", required: true },
    definitions.map((jd) => h("option", { value: jd.applicationName }, jd.applicationName)));
  application.value = params.get("app") || definitions[0].applicationName;
  const about = h("p", { class: "hint" });
  const rows = h("div", { class: "params" });
  const queue = h("select", { id: "enqueue-queue", name: "queueName" },
    h("option", { value: "" }, "the definition's queue"), queues.map((q) => h("option", {}, q.name)));
  const text = (id, label, attributes = {}) => [h("label", { for: id }, label), h("input", { id, name: id, ...attributes })];
  const priority = h("input", { id: "enqueue-priority", name: "priority", type: "number", min: 0, max: 10, value: 0 });
  const held = h("input", { id: "enqueue-held", name: "held", type: "checkbox" });
  const submit = h("button", { type: "submit", class: "primary" }, "Enqueue");
  const message = h("p", { class: "form-error", role: "alert" });

  const choose = () => {
    const jd = definitions.find((d) => d.applicationName === application.value);
    replaceChildren(about, jd.description || "", jd.queue ? ` Queue: ${jd.queue.name}.` : "");
    replaceChildren(rows, Object.entries(parametersOf(jd)).map(([key, value]) => parameterRow(key, value)));
  };
  application.addEventListener("change", choose);
  choose();

  const form = h("form", { class: "enqueue", "aria-label": "New job" },
    h("label", { for: "enqueue-app" }, "Application"), application, about,
    h("fieldset", {}, h("legend", {}, "Parameters"), rows,
      h("button", { type: "button", class: "link", onclick: () => rows.append(parameterRow()) }, "+ add a parameter")),
    h("details", {}, h("summary", {}, "More options"),
      h("div", { class: "options" },
        h("label", { for: "enqueue-queue" }, "Queue"), queue,
        h("label", { for: "enqueue-priority" }, "Priority (0: none, 1 to 10)"), priority,
        text("enqueue-keyword1", "Keyword 1"), text("enqueue-keyword2", "Keyword 2"),
        text("enqueue-keyword3", "Keyword 3"), text("enqueue-session", "Session ID"),
        h("label", { class: "inline" }, held, " start held (waits until resumed)"))),
    submit, message);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replaceChildren(message);
    const parameters = [...rows.querySelectorAll(".param-row")]
      .map((row) => ({ key: row.children[0].value.trim(), value: row.children[1].value.trim() }))
      .filter((p) => p.key);
    const value = (id) => form.querySelector(`#${id}`).value.trim() || null;
    const request = {
      applicationName: application.value, parameters, queueName: queue.value || null,
      priority: Number(priority.value) || null, startState: held.checked ? "HOLDED" : null,
      keyword1: value("enqueue-keyword1"), keyword2: value("enqueue-keyword2"), keyword3: value("enqueue-keyword3"),
      sessionID: value("enqueue-session"), user: view.me.login,
    };
    submit.disabled = true;
    try {
      const job = await view.api.enqueue(request);
      view.navigate(`#/jobs/${job.id}`);
    } catch (error) {
      replaceChildren(message, error.message);
    } finally {
      submit.disabled = false;
    }
  });
  replaceChildren(target, h("h1", {}, "New job"), form);
}
