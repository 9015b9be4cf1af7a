// One job: its fields, parameters and messages, its stdout and stderr as they are written (Range reads of
// the new bytes only, once a HEAD request shows there are some), its deliverables, and the kill and restart actions the user's permissions allow.

import { ApiError } from "./api.js";
import { dateTime, fieldTable, h, isFinal, parametersOf, replaceChildren, runTime, stateBadge } from "./dom.js";

const POLL_MS = 1000;
const TAIL_BYTES = 256 * 1024;
const MAX_SHOWN_CHARS = 2 * 1024 * 1024;

/** Shows one log stream and follows it: the last TAIL_BYTES first, then what is appended. */
class LogFollower {
  constructor(api, jobId, stream) {
    this.api = api;
    this.jobId = jobId;
    this.stream = stream;
    this.offset = null;
    this.decoder = new TextDecoder();
    this.text = document.createTextNode("");
    this.pre = h("pre", { class: "log", id: `log-${stream}`, tabindex: 0 }, this.text);
    this.note = h("p", { class: "hint" });
  }

  async read() {
    const size = await this.api.logSize(this.jobId, this.stream);
    const first = this.offset === null;
    const start = first ? Math.max(0, size - TAIL_BYTES) : this.offset;
    if (size <= start) {
      this.offset = start;
      return;
    }
    const bytes = await this.api.logBytes(this.jobId, this.stream, start);
    if (first && start > 0) {
      replaceChildren(this.note, `The first ${start.toLocaleString()} bytes are not shown: download the log.`);
    }
    this.offset = start + bytes.length;
    const added = this.decoder.decode(bytes, { stream: true });
    if (!added) return;
    const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
    this.text.appendData(added);
    if (this.text.length > MAX_SHOWN_CHARS) this.text.deleteData(0, this.text.length - MAX_SHOWN_CHARS / 2);
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
  }
}

function logsSection(view, job, followers) {
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const panel = h("div", { class: "tab-panel" });
  const show = (follower) => {
    for (const button of tabs.children) button.setAttribute("aria-selected", button.dataset.stream === follower.stream);
    replaceChildren(panel, follower.pre, follower.note, h("button", {
      type: "button", class: "button",
      onclick: () => view.api.download(`ws/client/ji/${job.id}/${follower.stream}`, `${job.id}.${follower.stream}.txt`)
        .catch(view.showError),
    }, `Download ${follower.stream}`));
  };
  for (const follower of followers) {
    tabs.append(h("button", { type: "button", role: "tab", dataset: { stream: follower.stream },
      onclick: () => show(follower) }, follower.stream));
  }
  show(followers[0]);
  return h("section", {}, h("h2", {}, "Logs"), tabs, panel);
}

function deliverablesSection(view, job, items) {
  if (!items.length) return h("section", {}, h("h2", {}, "Deliverables"), h("p", { class: "empty" }, "None."));
  const canDownload = view.may("files:read");
  return h("section", {}, h("h2", {}, "Deliverables"), h("ul", { class: "deliverables" }, items.map((item) =>
    h("li", {}, h("span", { class: "mono" }, item.originalName || item.filePath || String(item.id)), " ",
      canDownload ? h("button", { type: "button", class: "button", onclick: () => view.api
        .download(`ws/client/ji/files/${item.id}`, item.originalName || `deliverable-${item.id}`)
        .catch(view.showError) }, "Download") : null))));
}

function actions(view, job, refresh) {
  const box = h("div", { class: "actions", id: "job-actions" });
  if (!view.may("job_instance:create")) return box;
  const act = async (action) => {
    try {
      await action();
    } catch (error) {
      view.showError(error);
    }
  };
  const killButton = h("button", { type: "button", class: "danger", onclick: () => replaceChildren(box,
    h("span", {}, `Kill job ${job.id}?`),
    h("button", { type: "button", class: "danger", onclick: () => act(async () => {
      await view.api.kill(job.id);
      replaceChildren(box, h("span", { class: "hint" }, "Kill requested…"));
      await refresh();
    }) }, "Yes, kill it"),
    h("button", { type: "button", onclick: () => replaceChildren(box, killButton) }, "No")) }, "Kill");
  if (!isFinal(job)) {
    replaceChildren(box, killButton);
  } else {
    replaceChildren(box, h("button", { type: "button", title: "enqueue a new job with the same request",
      onclick: () => act(async () => view.navigate(`#/jobs/${await view.api.enqueueAgain(job.id)}`)) }, "Restart"));
  }
  return box;
}

function details(job) {
  const parameters = Object.entries(parametersOf(job));
  return [
    fieldTable([
      ["Application", job.applicationName],
      ["State", stateBadge(job.state)],
      ["Queue", job.queueName],
      ["Position in queue", job.position ? String(job.position) : ""],
      ["Node", job.nodeName],
      ["User", job.user],
      ["Enqueued", dateTime(job.enqueueDate)],
      ["Not before", dateTime(job.runAfter)],
      ["Started", dateTime(job.beganRunningDate)],
      ["Ended", dateTime(job.endDate)],
      ["Run time", runTime(job)],
      ["Priority", job.priority ? String(job.priority) : ""],
      ["Parent job", job.parent ? h("a", { href: `#/jobs/${job.parent}` }, String(job.parent)) : ""],
      ["Keywords", [job.keyword1, job.keyword2, job.keyword3].filter(Boolean).join(", ")],
      ["Session", job.sessionID],
      ["Module", job.module],
    ]),
    h("section", {}, h("h2", {}, "Parameters"), parameters.length
      ? h("table", { class: "grid compact" }, h("tbody", {}, parameters.map(([key, value]) =>
        h("tr", {}, h("th", { scope: "row", class: "mono" }, key), h("td", { class: "mono" }, value)))))
      : h("p", { class: "empty" }, "None.")),
    job.messages && job.messages.length
      ? h("section", {}, h("h2", {}, "Messages"), h("ul", { class: "messages" }, job.messages.map((m) => h("li", {}, m))))
      : null,
  ];
}

export async function renderJob(target, view, idText) {
  if (!/^\d+$/.test(idText)) throw new ApiError(400, `"${idText}" is not a job ID`);
  const id = idText;
  const heading = h("h1", {});
  const actionBox = h("div", {});
  const body = h("div", { class: "job-details" });
  const logs = h("div", {});
  const files = h("div", {});
  replaceChildren(target, h("p", {}, h("a", { href: "#/jobs" }, "← Jobs")),
    h("header", { class: "job-header" }, heading, actionBox), body, logs, files);

  const followers = view.may("logs:read") ? [new LogFollower(view.api, id, "stdout"),
    new LogFollower(view.api, id, "stderr")] : [];
  let shown = null;

  async function refresh() {
    const job = await view.api.job(id);
    if (!view.alive()) return job;
    await Promise.all(followers.map((f) => f.read()));
    if (shown === job.state && !isFinal(job)) {
      replaceChildren(body, details(job));
      return job;
    }
    shown = job.state;
    replaceChildren(heading, `Job ${job.id} `, h("span", { class: "subtle" }, job.applicationName), " ",
      stateBadge(job.state));
    replaceChildren(actionBox, actions(view, job, refresh));
    replaceChildren(body, details(job));
    if (isFinal(job)) {
      const items = await view.api.deliverables(id).catch(() => []);
      if (view.alive()) replaceChildren(files, deliverablesSection(view, job, items));
    }
    return job;
  }

  const first = await refresh();
  replaceChildren(logs, followers.length ? logsSection(view, first, followers)
    : h("section", {}, h("h2", {}, "Logs"), h("p", { class: "empty" }, "Reading logs needs the logs:read permission.")));
  if (isFinal(first)) return;
  const poll = () => refresh()
    .then((job) => { if (!isFinal(job)) view.later(POLL_MS, poll); })
    .catch((error) => { view.showError(error); view.later(POLL_MS * 5, poll); });
  view.later(POLL_MS, poll);
}
