// Building the page: elements are made with h(), text always goes through textContent (never HTML),
// so nothing a job, a user or a node says can become markup or script.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function replaceChildren(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

const pad = (n) => String(n).padStart(2, "0");

/** Epoch milliseconds as a local date and time, "2025-03-04 17:05:09"; "" for none. */
export function dateTime(millis) {
  if (millis === null || millis === undefined) return "";
  const d = new Date(millis);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A duration in milliseconds, readable: "850 ms", "12.4 s", "3 min 05 s", "2 h 07 min". */
export function duration(millis) {
  if (millis === null || millis === undefined || millis < 0) return "";
  if (millis < 1000) return `${Math.round(millis)} ms`;
  const seconds = millis / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${pad(Math.floor(seconds % 60))} s`;
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

/** How long a job ran (or has been running), or "" if it never started. */
export function runTime(job) {
  if (!job.beganRunningDate) return "";
  return duration((job.endDate ?? Date.now()) - job.beganRunningDate);
}

export const ACTIVE_STATES = ["SUBMITTED", "ATTRIBUTED", "RUNNING", "HOLDED", "SCHEDULED"];
export const FINAL_STATES = ["ENDED", "CRASHED", "CANCELLED"]; // a killed job ends CRASHED, as upstream
export const ALL_STATES = [...ACTIVE_STATES, ...FINAL_STATES];

export function stateBadge(state) {
  return h("span", { class: `badge state-${String(state).toLowerCase()}` }, state);
}

export function isFinal(job) {
  return FINAL_STATES.includes(job.state);
}

/** A bar showing a fraction (0 to 1), with its text beside it. */
export function meter(fraction, text, { warnAt = 0.8, alertAt = 0.95 } = {}) {
  const clamped = Math.max(0, Math.min(1, fraction || 0));
  const level = clamped >= alertAt ? "alert" : clamped >= warnAt ? "warn" : "ok";
  const fill = h("span", { class: `meter-fill ${level}` });
  fill.style.width = `${(clamped * 100).toFixed(1)}%`;
  return h("span", { class: "meter-wrap" },
    h("span", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100,
      "aria-valuenow": (clamped * 100).toFixed(1) }, fill),
    h("span", { class: "meter-text" }, text));
}

/** A key/value table of the fields that have a value. */
export function fieldTable(rows) {
  return h("table", { class: "fields" },
    h("tbody", {}, rows.filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, value)))));
}

export function parametersOf(job) {
  return Object.fromEntries((job.parameters || []).map((entry) => [entry.key, entry.value]));
}
