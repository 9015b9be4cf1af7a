// The node's APIs as the console calls them: JSON, HTTP Basic from the session, never a cookie.
//
// Every call is sent with credentials: "omit": the browser adds no cookie and no credential of its own,
// and never opens its own password dialog on a 401 (the console shows its login form instead).

const STORAGE_KEY = "jqm.console.session";

/** Where the APIs are: the console is served at <base>/console/, the APIs at <base>/ws/... */
export const API_BASE = new URL("../", document.baseURI);

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function basicToken(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** The credential of this browser tab (sessionStorage: gone when the tab closes). */
export const session = {
  load() {
    try {
      return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    } catch {
      return null;
    }
  },
  save(user, authorization) {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ user, authorization }));
  },
  clear() {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.userReadableMessage || body.developerMessage || message;
  } catch {
    // not an errorDto: keep the status line
  }
  return new ApiError(response.status, message);
}

export class Api {
  constructor(authorization, onUnauthorized) {
    this.authorization = authorization;
    this.onUnauthorized = onUnauthorized;
  }

  /** A fetch of an API path ("ws/client/q"); non-2xx answers become ApiError. */
  async fetch(path, { method = "GET", body, headers = {}, accept = "application/json" } = {}) {
    const sent = { Accept: accept, ...headers };
    if (this.authorization) sent.Authorization = this.authorization;
    if (body !== undefined) sent["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(new URL(path, API_BASE), {
        method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit", cache: "no-store", redirect: "error",
      });
    } catch (e) {
      throw new ApiError(0, `the node did not answer (${e.message})`);
    }
    if (response.ok) return response;
    const error = await errorOf(response);
    if (response.status === 401 && this.onUnauthorized) this.onUnauthorized(error);
    throw error;
  }

  async json(path, options) {
    const response = await this.fetch(path, options);
    const text = await response.text();
    return { data: text ? JSON.parse(text) : null, partial: response.headers.get("X-Jqm-Partial-Results") };
  }

  async get(path) {
    return (await this.json(path)).data;
  }

  async post(path, body) {
    return (await this.json(path, { method: "POST", body })).data;
  }

  // ---------------------------------------------------------------- the calls the console makes

  me() { return this.get("ws/admin/me"); }
  nodes() { return this.json("ws/cluster/nodes"); }
  queues() { return this.get("ws/client/q"); }
  definitions() { return this.get("ws/client/jd"); }
  job(id) { return this.get(`ws/client/ji/${id}`); }
  deliverables(id) { return this.get(`ws/client/ji/${id}/files`); }
  query(query) { return this.json("ws/client/ji/query", { method: "POST", body: query }); }
  enqueue(request) { return this.post("ws/client/ji", request); }
  kill(id) { return this.fetch(`ws/client/ji/killed/${id}`, { method: "POST" }); }
  enqueueAgain(id) { return this.post(`ws/client/ji/${id}`); }

  /** The size of a job's log now (a HEAD request: no byte of it travels). */
  async logSize(id, stream) {
    const response = await this.fetch(`ws/client/ji/${id}/${stream}`, {
      method: "HEAD", accept: "application/octet-stream",
    });
    return Number(response.headers.get("Content-Length") || 0);
  }

  /** The bytes of a job's log from `start` on (a Range request: a log only grows). */
  async logBytes(id, stream, start) {
    const response = await this.fetch(`ws/client/ji/${id}/${stream}`, {
      accept: "application/octet-stream", headers: start ? { Range: `bytes=${start}-` } : {},
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return response.status === 206 ? bytes : bytes.subarray(start); // 200: the server sent the whole file
  }

  /** Saves a file the API serves (a deliverable, a whole log) under `filename`. */
  async download(path, filename) {
    const response = await this.fetch(path, { accept: "application/octet-stream" });
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

export async function login(user, password) {
  const authorization = basicToken(user, password);
  const me = await new Api(authorization).me();
  session.save(me.login || user, authorization);
  return me;
}
