// The queues (GET ws/client/q) with their jobs counted cluster-wide by state (POST ws/client/ji/query with
// pageSize 0: only the count travels); each count links to the jobs it counts.

import { h, replaceChildren } from "./dom.js";

const REFRESH_MS = 5000;
const COLUMNS = [
  { title: "Waiting", filter: "waiting", statuses: ["SUBMITTED", "HOLDED", "SCHEDULED"] },
  { title: "Running", filter: "running", statuses: ["ATTRIBUTED", "RUNNING"] },
  { title: "Ended", filter: "ENDED", statuses: ["ENDED"] },
  { title: "Failed", filter: "failed", statuses: ["CRASHED"] },
];

async function count(api, queue, statuses) {
  const { data } = await api.query({
    queueName: queue.name, statuses, pageSize: 0, queryLiveInstances: true, queryHistoryInstances: true,
  });
  return data.resultSize;
}

export async function renderQueues(target, view) {
  const body = h("div", {});
  replaceChildren(target, h("h1", {}, "Queues"), body);
  const counting = view.may("job_instance:read");

  async function refresh() {
    const queues = await view.api.queues();
    const counts = counting
      ? await Promise.all(queues.map((q) => Promise.all(COLUMNS.map((c) => count(view.api, q, c.statuses)))))
      : [];
    if (!view.alive()) return;
    replaceChildren(body, h("table", { class: "grid", id: "queues-table" },
      h("thead", {}, h("tr", {}, ["Queue", "Description", ...(counting ? COLUMNS.map((c) => c.title) : [])]
        .map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, queues.map((queue, row) => h("tr", {},
        h("td", {}, queue.name),
        h("td", {}, queue.description || ""),
        counting && COLUMNS.map((column, i) => h("td", { class: "num" }, h("a", {
          href: `#/jobs?queue=${encodeURIComponent(queue.name)}&state=${column.filter}`,
        }, String(counts[row][i])))))))));
  }

  await refresh();
  if (counting) view.every(REFRESH_MS, () => refresh().catch(view.showError));
}
