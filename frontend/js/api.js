// The REST client: one method per route. Changes send the control token.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export class Api {
  constructor(base = "") {
    this.base = base;
  }

  async request(method, path, { body, token, raw = false } = {}) {
    const headers = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, `the server did not answer (${err.message})`);
    }
    if (raw && res.ok) return res;
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const detail = json && typeof json.detail === "string" ? json.detail : `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, detail, json);
    }
    return json;
  }

  options() {
    return this.request("GET", "/api/options");
  }
  create(config) {
    return this.request("POST", "/api/sessions", { body: config });
  }
  get(id) {
    return this.request("GET", `/api/sessions/${id}`);
  }
  patch(id, token, body) {
    return this.request("PATCH", `/api/sessions/${id}`, { body, token });
  }
  remove(id, token) {
    return this.request("DELETE", `/api/sessions/${id}`, { token });
  }
  step(id, token, steps = 1) {
    return this.request("POST", `/api/sessions/${id}/step`, { body: { steps }, token });
  }
  play(id, token, play = {}) {
    return this.request("POST", `/api/sessions/${id}/play`, { body: play, token });
  }
  pause(id, token) {
    return this.request("POST", `/api/sessions/${id}/pause`, { token });
  }
  reset(id, token) {
    return this.request("POST", `/api/sessions/${id}/reset`, { token });
  }
  recover(id, token, lr) {
    return this.request("POST", `/api/sessions/${id}/recover`, { body: lr === undefined ? {} : { lr }, token });
  }
  params(id) {
    return this.request("GET", `/api/sessions/${id}/params`);
  }
  trace(id) {
    return this.request("GET", `/api/sessions/${id}/trace`);
  }
  history(id, maxPoints = 4000) {
    return this.request("GET", `/api/sessions/${id}/history?max_points=${maxPoints}`);
  }
  predict(id, x) {
    return this.request("POST", `/api/sessions/${id}/predict`, { body: { x } });
  }
  explain(id, target) {
    const q = new URLSearchParams({ layer: String(target.layer) });
    if (target.kind === "node") q.set("node", String(target.unit));
    else {
      q.set("param", target.param);
      q.set("index", target.index.join(","));
    }
    return this.request("GET", `/api/sessions/${id}/explain?${q}`);
  }
  async exportSession(id) {
    const res = await this.request("GET", `/api/sessions/${id}/export`, { raw: true });
    return res.blob();
  }
  importSession(text) {
    return this.request("POST", "/api/sessions/import", { body: text });
  }

  // --- time travel (server/timetravel.py): reading the past needs no token ---
  at(id, step) {
    return this.request("GET", `/api/sessions/${id}/at/${step}`);
  }
  async frameAt(id, step, { output = 50, nodes = 20 } = {}) {
    const res = await this.request("GET", `/api/sessions/${id}/at/${step}/frame?output=${output}&nodes=${nodes}`, { raw: true });
    return res.arrayBuffer();
  }
  explainAt(id, step, target) {
    const q = new URLSearchParams({ layer: String(target.layer) });
    if (target.kind === "node") q.set("node", String(target.unit));
    else {
      q.set("param", target.param);
      q.set("index", target.index.join(","));
    }
    return this.request("GET", `/api/sessions/${id}/at/${step}/explain?${q}`);
  }
  compare(id, a, b) {
    return this.request("GET", `/api/sessions/${id}/compare?a=${a}&b=${b}`);
  }
  fork(id, body = {}) {
    return this.request("POST", `/api/sessions/${id}/fork`, { body });
  }
  forks(id) {
    return this.request("GET", `/api/sessions/${id}/forks`);
  }
  gradcheck(id, body = {}) {
    return this.request("POST", `/api/sessions/${id}/gradcheck`, { body });
  }
}
