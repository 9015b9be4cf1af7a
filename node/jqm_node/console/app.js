// The console's shell: who is logged in, the navigation, and one view at a time, chosen by the URL's
// fragment (#/nodes, #/queues, #/jobs?state=RUNNING, #/jobs/123, #/enqueue). A view gets a context
// whose timers stop when the user leaves it.

import { Api, ApiError, session } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { renderLogin } from "./view-login.js";
import { renderNodes } from "./view-nodes.js";
import { renderQueues } from "./view-queues.js";
import { renderJobs } from "./view-jobs.js";
import { renderJob } from "./view-job.js";
import { renderEnqueue } from "./view-enqueue.js";

const main = document.getElementById("view");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const banner = document.getElementById("banner");

const PAGES = [
  { path: "nodes", title: "Nodes", needs: ["node:read"], render: renderNodes },
  { path: "queues", title: "Queues", needs: ["queue:read"], render: renderQueues },
  { path: "jobs", title: "Jobs", needs: ["job_instance:read"], render: renderJobs },
  { path: "enqueue", title: "New job", needs: ["job_instance:create", "jd:read"], render: renderEnqueue },
];

let state = { api: null, me: null };
let current = null;

function may(permission) {
  return Boolean(state.me && state.me.may[permission]);
}

function allowed(page) {
  return page.needs.every(may);
}

export function showError(error) {
  const text = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  replaceChildren(banner, h("span", {}, text), h("button", {
    type: "button", class: "link", "aria-label": "dismiss", onclick: () => replaceChildren(banner),
  }, "×"));
  banner.hidden = false;
}

function clearError() {
  replaceChildren(banner);
  banner.hidden = true;
}

function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query) };
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function context() {
  const timers = [];
  const view = {
    api: state.api,
    me: state.me,
    may,
    navigate,
    showError,
    alive: () => current === view,
    every(ms, action) {
      const timer = setInterval(() => { if (view.alive()) action(); }, ms);
      timers.push(timer);
      return timer;
    },
    later(ms, action) {
      const timer = setTimeout(() => { if (view.alive()) action(); }, ms);
      timers.push(timer);
      return timer;
    },
    stop() {
      timers.forEach((timer) => { clearInterval(timer); clearTimeout(timer); });
    },
  };
  return view;
}

function renderNav(active) {
  replaceChildren(nav, PAGES.filter(allowed).map((page) => h("a", {
    href: `#/${page.path}`, "aria-current": page.path === active ? "page" : undefined,
  }, page.title)));
  replaceChildren(who, state.me && state.me.enforced
    ? [h("span", { class: "user" }, state.me.login),
      h("button", { type: "button", class: "link", onclick: logout }, "Log out")]
    : [h("span", { class: "user warn" }, "authentication off")]);
}

async function route() {
  if (current) current.stop();
  current = null;
  clearError();
  if (!state.me) {
    renderLogin(main, { onLogin: start });
    replaceChildren(nav);
    replaceChildren(who);
    return;
  }
  const { parts, params } = parseHash();
  const home = PAGES.find(allowed);
  let page = PAGES.find((p) => p.path === parts[0]);
  if (!page || !allowed(page)) {
    if (!home) {
      replaceChildren(main, h("p", { class: "empty" }, "Your roles allow none of the console's pages."));
      renderNav(null);
      return;
    }
    navigate(`#/${home.path}`);
    return;
  }
  renderNav(page.path);
  const view = context();
  current = view;
  const target = h("section", { class: "view" });
  replaceChildren(main, target);
  try {
    if (page.path === "jobs" && parts[1]) await renderJob(target, view, parts[1]);
    else await page.render(target, view, params);
  } catch (error) {
    if (view.alive()) showError(error);
  }
}

function sessionEnded(error) {
  session.clear();
  state = { api: null, me: null };
  route().then(() => showError(`${error.message}: log in again`));
}

function logout() {
  session.clear();
  state = { api: null, me: null };
  route();
}

/** Starts with the credential of this tab, or without one (a node with authentication off). */
async function start() {
  const saved = session.load();
  const api = new Api(saved ? saved.authorization : null, sessionEnded);
  let failure = null;
  try {
    state = { api, me: await new Api(api.authorization).me() };
  } catch (error) {
    state = { api: null, me: null };
    if (saved) session.clear();
    if (!(error instanceof ApiError && error.status === 401)) failure = error;
  }
  await route();
  if (failure) showError(failure);
}

window.addEventListener("hashchange", route);
start();
