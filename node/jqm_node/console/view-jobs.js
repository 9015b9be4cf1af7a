// Jobs of the whole cluster, newest first, with filters and pages: the client API's query
// (POST ws/client/ji/query), which every node answers for the whole cluster. The filters live in the
// URL (#/jobs?state=RUNNING&app=Demo%&page=2), so a filtered list can be bookmarked or shared.

import { ALL_STATES, dateTime, h, replaceChildren, runTime, stateBadge } from "./dom.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 5000;
const STATE_GROUPS = {
  active: { title: "waiting or running", statuses: ["SUBMITTED", "HOLDED", "SCHEDULED", "ATTRIBUTED", "RUNNING"] },
  waiting: { title: "waiting", statuses: ["SUBMITTED", "HOLDED", "SCHEDULED"] },
  running: { title: "running", statuses: ["ATTRIBUTED", "RUNNING"] },
  finished: { title: "finished", statuses: ["ENDED", "CRASHED", "CANCELLED"] },
  failed: { title: "failed (crashed or killed)", statuses: ["CRASHED"] },
};
const TEXT_FILTERS = [
  { key: "id", label: "Job ID", placeholder: "exact ID", inputmode: "numeric" },
  { key: "app", label: "Application", placeholder: "name, % wildcard" },
  { key: "user", label: "User", placeholder: "user" },
  { key: "keyword", label: "Keyword 1", placeholder: "keyword1, % wildcard" },
];

function statusesOf(state) {
  if (!state) return undefined;
  return STATE_GROUPS[state] ? STATE_GROUPS[state].statuses : [state];
}

/** The client API Query of the filters in the URL. */
export function queryOf(params) {
  const page = Math.max(1, Number(params.get("page")) || 1);
  const query = {
    firstRow: (page - 1) * PAGE_SIZE, pageSize: PAGE_SIZE,
    sortby: [{ col: "ID", order: "DESCENDING" }],
    queryLiveInstances: true, queryHistoryInstances: true,
  };
  const id = (params.get("id") || "").trim();
  if (/^\d+$/.test(id)) query.jobInstanceId = Number(id);
  if (params.get("app")) query.applicationName = [params.get("app")];
  if (params.get("user")) query.user = params.get("user");
  if (params.get("keyword")) query.instanceKeyword1 = params.get("keyword");
  if (params.get("queue")) query.queueName = params.get("queue");
  const statuses = statusesOf(params.get("state"));
  if (statuses) query.statuses = statuses;
  return { query, page };
}

function filterForm(view, params, queues) {
  const fields = TEXT_FILTERS.map((f) => h("label", {}, f.label,
    h("input", { name: f.key, value: params.get(f.key) || "", placeholder: f.placeholder, inputmode: f.inputmode })));
  const state = h("select", { name: "state" },
    h("option", { value: "" }, "any"),
    Object.entries(STATE_GROUPS).map(([key, group]) => h("option", { value: key }, group.title)),
    ALL_STATES.map((s) => h("option", { value: s }, s)));
  state.value = params.get("state") || "";
  const queue = queues
    ? h("select", { name: "queue" }, h("option", { value: "" }, "any"), queues.map((q) => h("option", {}, q.name)))
    : h("input", { name: "queue", placeholder: "queue name" });
  queue.value = params.get("queue") || "";
  const form = h("form", { class: "filters", "aria-label": "Filters" },
    fields, h("label", {}, "State", state), h("label", {}, "Queue", queue),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Filter"),
      h("a", { href: "#/jobs", class: "button" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (String(value).trim()) chosen.set(key, String(value).trim());
    view.navigate(`#/jobs?${chosen}`);
  });
  return form;
}

function jobRows(jobs) {
  return jobs.map((job) => h("tr", { dataset: { id: job.id } },
    h("td", { class: "mono" }, h("a", { href: `#/jobs/${job.id}` }, String(job.id))),
    h("td", {}, job.applicationName),
    h("td", {}, stateBadge(job.state)),
    h("td", {}, job.queueName || ""),
    h("td", {}, job.user || ""),
    h("td", {}, job.nodeName || ""),
    h("td", {}, dateTime(job.enqueueDate)),
    h("td", { class: "num" }, runTime(job))));
}

function pager(params, page, total) {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const link = (to, text) => {
    const next = new URLSearchParams(params);
    next.set("page", String(to));
    return h("a", { href: `#/jobs?${next}`, class: "button", rel: to > page ? "next" : "prev" }, text);
  };
  const first = total ? (page - 1) * PAGE_SIZE + 1 : 0;
  return h("div", { class: "pager" },
    page > 1 ? link(page - 1, "← Newer") : null,
    h("span", { class: "pager-text" },
      `${first} to ${Math.min(page * PAGE_SIZE, total)} of ${total} job${total === 1 ? "" : "s"} · page ${page} of ${pages}`),
    page < pages ? link(page + 1, "Older →") : null);
}

export async function renderJobs(target, view, params) {
  const queues = view.may("queue:read") ? await view.api.queues().catch(() => null) : null;
  const { query, page } = queryOf(params);
  const rows = h("tbody", {});
  const paging = h("div", {});
  const note = h("p", { class: "hint" });
  replaceChildren(target, h("h1", {}, "Jobs"), filterForm(view, params, queues),
    h("table", { class: "grid", id: "jobs-table" },
      h("thead", {}, h("tr", {}, ["ID", "Application", "State", "Queue", "User", "Node", "Enqueued", "Run time"]
        .map((title) => h("th", { scope: "col" }, title)))),
      rows),
    paging, note);

  async function refresh() {
    const { data, partial } = await view.api.query(query);
    if (!view.alive()) return;
    const jobs = data.instances || [];
    replaceChildren(rows, jobs.length ? jobRows(jobs)
      : h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No job matches these filters.")));
    replaceChildren(paging, pager(params, page, data.resultSize || 0));
    replaceChildren(note, partial ? `Some nodes did not answer (${partial}): their jobs are missing. ` : "",
      `Refreshed ${new Date().toLocaleTimeString()}; every ${REFRESH_MS / 1000} s.`);
  }

  await refresh();
  view.every(REFRESH_MS, () => refresh().catch(view.showError));
}
