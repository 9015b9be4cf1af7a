// Every member of the cluster (GET ws/cluster/nodes): ID usage, drain state, jobs, ledger; refreshed
// every few seconds.

import { h, meter, replaceChildren } from "./dom.js";

const REFRESH_MS = 5000;

function statusOf(node) {
  if (!node.reachable) return h("span", { class: "badge bad" }, "unreachable");
  if (node.stopping) return h("span", { class: "badge warn" }, "stopping");
  if (node.draining) return h("span", { class: "badge warn" }, `draining (${node.drainReason || "unspecified"})`);
  if (node.ledger && node.ledger.reachable === false) return h("span", { class: "badge bad" }, "ledger unreachable");
  return h("span", { class: "badge good" }, "taking jobs");
}

function idUsage(node) {
  if (!node.reachable || !node.idCapacity) return "";
  const fraction = node.idsUsed / node.idCapacity;
  return meter(fraction, `${node.idsUsed.toLocaleString()} / ${node.idCapacity.toLocaleString()} ` +
    `(${(fraction * 100).toFixed(1)} %)`);
}

function summary(nodes) {
  const live = nodes.filter((n) => n.reachable);
  const sum = (key) => live.reduce((total, n) => total + (n[key] || 0), 0);
  const highest = Math.max(0, ...live.map((n) => (n.idCapacity ? n.idsUsed / n.idCapacity : 0)));
  const card = (label, value) => h("div", { class: "card" }, h("div", { class: "card-value" }, value),
    h("div", { class: "card-label" }, label));
  return h("div", { class: "cards" },
    card("nodes answering", `${live.length} / ${nodes.length}`),
    card("taking jobs", String(live.filter((n) => n.accepting && !n.draining).length)),
    card("jobs running", String(sum("running"))),
    card("jobs waiting", String(sum("queued"))),
    card("highest ID usage", `${(highest * 100).toFixed(1)} %`));
}

function table(nodes) {
  return h("table", { class: "grid", id: "nodes-table" },
    h("thead", {}, h("tr", {}, ["Node", "Address", "Status", "ID usage", "Running", "Waiting", "Held history"]
      .map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, nodes.map((node) => h("tr", { dataset: { ip: node.ip } },
      h("td", {}, node.name || ""),
      h("td", { class: "mono" }, node.ip),
      h("td", {}, statusOf(node)),
      h("td", { class: "wide" }, idUsage(node)),
      h("td", { class: "num" }, node.reachable ? String(node.running) : ""),
      h("td", { class: "num" }, node.reachable ? String(node.queued) : ""),
      h("td", { class: "num" }, node.history ? String(node.history.held) : "")))));
}

export async function renderNodes(target, view) {
  const body = h("div", {});
  const note = h("p", { class: "hint" });
  replaceChildren(target, h("h1", {}, "Nodes"), body, note);

  async function refresh() {
    const { data, partial } = await view.api.nodes();
    if (!view.alive()) return;
    replaceChildren(body, summary(data.nodes), table(data.nodes));
    replaceChildren(note, partial ? `Not answering: ${partial}. ` : "",
      `Refreshed ${new Date().toLocaleTimeString()}; every ${REFRESH_MS / 1000} s.`);
  }

  await refresh();
  view.every(REFRESH_MS, () => refresh().catch(view.showError));
}
