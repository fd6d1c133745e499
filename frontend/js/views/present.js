// Classroom mode on the page: presenting (join code, link, QR code), the view relay
// (the presenter's page leads, viewers follow), forking, and the lesson, race and forks
// panels. main.js creates it once and calls its hooks; it keeps its own data in
// `state.ui.classroom` (which survives session switches).
//
//   presenter  the page holds the session's token and presents it: sends `view` messages
//   viewer     the page joined with ?join=CODE: read-only, follows every view event
//   fork       a viewer who forked: controls its own session, may go back to the class

import { viewOf, viewMessage, sameTarget, joinCodeOf } from "../classroom.js";
import { createLessons } from "./lessons.js";
import { createRace } from "./race.js";
import { createForks } from "./forks.js";

const VIEW_MIN_INTERVAL_MS = 40;
const VIEWERS_POLL_MS = 2000;
const REJOIN_TRIES = 12;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/**
 * @param {{state, api, toast, fail, socket: () => object|null, attach(id), switchTo(id, token, info, own),
 *          createSession(config), openExplain(target), closeExplain(), actions}} ctx
 */
export function createClassroom(ctx) {
  const { state, api } = ctx;
  const cls = (state.ui.classroom ||= { mode: null, code: null, secret: null, url: null, qr: null, joinCode: null });
  let lastSent = "";
  let lastSentAt = 0;
  let viewersAt = 0;
  let watching = 0;
  let lockedRole = null;
  let pendingView = null;

  const leader = () => state.session.role === "controller" && cls.mode !== "viewer";
  const following = () => cls.mode === "viewer" && state.session.role === "viewer";
  const changed = () => {
    state.dirty = true;
  };

  const race = createRace({
    api,
    toast: ctx.toast,
    fail: ctx.fail,
    isLeader: leader,
    config: () => ctx.currentConfig(),
    changed,
  });
  const lessons = createLessons({
    api,
    state,
    toast: ctx.toast,
    fail: ctx.fail,
    isLeader: leader,
    createSession: (config) => ctx.createSession(config),
    applyView: (view) => applyView(view, true),
    race,
    actions: ctx.actions,
    changed,
  });
  const forks = createForks({ api });

  // --- top bar: Lessons, Race, Present (or, for a class: who you follow, Fork) -------------------
  const lessonsBtn = el("button", { type: "button", className: "btn ghost small", textContent: "Lessons", title: "Guided lessons" });
  lessonsBtn.dataset.testid = "lessons";
  const raceBtn = el("button", { type: "button", className: "btn ghost small", textContent: "Race", title: "Race optimizers or learning rates from the same start" });
  raceBtn.dataset.testid = "race";
  const presentBtn = el("button", { type: "button", className: "btn ghost small present-btn", textContent: "Present", title: "Let a class follow this session live" });
  presentBtn.dataset.testid = "present";
  const badge = el("span", { className: "class-badge", hidden: true });
  badge.dataset.testid = "class-badge";
  const forkBtn = el("button", { type: "button", className: "btn small", textContent: "Fork", title: "Your own copy of this run, from this step: experiment with it" });
  forkBtn.dataset.testid = "fork";
  const backBtn = el("button", { type: "button", className: "btn small ghost", textContent: "← class", title: "Leave your fork and follow the class again" });
  backBtn.dataset.testid = "back-to-class";
  const bar = el("div", { className: "class-actions", role: "group", "aria-label": "Classroom" }, badge, forkBtn, backBtn, lessonsBtn, raceBtn, presentBtn);
  document.querySelector(".top-actions")?.prepend(bar);
  lessonsBtn.addEventListener("click", () => lessons.openPicker());
  raceBtn.addEventListener("click", () => race.openDialog());
  presentBtn.addEventListener("click", () => (cls.mode === "presenter" ? (panel.hidden = !panel.hidden) : startPresenting()));
  forkBtn.addEventListener("click", () => fork());
  backBtn.addEventListener("click", () => cls.joinCode && join(cls.joinCode));

  // --- the presenter's panel: code, link, QR code ------------------------------------------------
  const codeOut = el("output", { className: "join-code" });
  codeOut.dataset.testid = "join-code";
  const linkOut = el("a", { className: "join-link", target: "_blank", rel: "noopener" });
  linkOut.dataset.testid = "join-link";
  const qrImg = el("img", { className: "join-qr", alt: "QR code of the join link" });
  qrImg.dataset.testid = "join-qr";
  const countOut = el("span", { className: "hint" });
  const stopBtn = el("button", { type: "button", className: "btn small", textContent: "Stop presenting" });
  const hideBtn = el("button", { type: "button", className: "btn ghost small", textContent: "×", title: "Hide (keeps presenting)" });
  hideBtn.setAttribute("aria-label", "Hide the join code");
  const panel = el(
    "aside",
    { className: "present-panel", hidden: true, "aria-label": "Join this class" },
    el("div", { className: "present-head" }, el("h2", { textContent: "Join the class" }), hideBtn),
    el("div", { className: "present-body" }, qrImg, el("div", {}, el("span", { className: "hint", textContent: "Open the link, or go to the page and enter" }), codeOut, linkOut, countOut)),
    el("div", { className: "row end" }, stopBtn),
  );
  panel.dataset.testid = "present-panel";
  document.body.append(panel);
  hideBtn.addEventListener("click", () => (panel.hidden = true));
  stopBtn.addEventListener("click", () => stopPresenting());

  function showPresentation(p) {
    Object.assign(cls, { mode: "presenter", code: p.code, secret: p.secret, url: p.url, qr: p.qr, presented: p.session });
    codeOut.textContent = p.code;
    linkOut.textContent = p.url;
    linkOut.href = p.link;
    if (qrImg.getAttribute("src") !== p.qr) qrImg.src = p.qr;
    lastSent = "";
  }

  async function startPresenting() {
    if (state.session.role !== "controller") return;
    try {
      const p = await api.request("POST", `/api/sessions/${state.session.id}/present`, { body: {}, token: state.session.token });
      showPresentation(p);
      panel.hidden = false;
      state.dirty = true;
    } catch (err) {
      ctx.fail(err);
    }
  }

  async function stopPresenting() {
    try {
      await api.request("DELETE", `/api/sessions/${state.session.id}/present`, { token: state.session.token });
    } catch (err) {
      ctx.fail(err);
    }
    Object.assign(cls, { mode: null, code: null, secret: null, url: null, qr: null });
    panel.hidden = true;
    state.dirty = true;
  }

  // --- joining, following, forking ------------------------------------------------------------------
  async function join(code, tries = 0, gone = null) {
    let info;
    try {
      info = await api.request("GET", `/api/join/${encodeURIComponent(code)}`);
    } catch (err) {
      if (err.status === 404 && tries < REJOIN_TRIES && cls.joinCode) return retry(code, tries);
      throw err;
    }
    if (info.session === gone && tries < REJOIN_TRIES) return retry(code, tries, gone);
    cls.mode = "viewer";
    cls.joinCode = info.code;
    pendingView = info.view;
    await ctx.attach(info.session);
    state.dirty = true;
  }

  function retry(code, tries, gone = null) {
    // the presenter's page is moving the class to its new session: ask again shortly
    return new Promise((resolve, reject) => setTimeout(() => join(code, tries + 1, gone).then(resolve, reject), 150 * (tries + 1)));
  }

  async function fork() {
    if (!following()) return;
    try {
      const created = await api.request("POST", `/api/sessions/${state.session.id}/fork`, { body: {} });
      sessionStorage.setItem(`bpl.token.${created.id}`, created.control_token);
      cls.mode = "fork";
      race.follow(null);
      lessons.follow(null);
      ctx.closeExplain();
      ctx.switchTo(created.id, created.control_token, created.session, true);
      ctx.toast(`Your own copy from step ${created.session.step}: change anything, the class goes on without you.`);
    } catch (err) {
      ctx.fail(err);
    }
  }

  /** Apply a view: the presenter's own (a lesson step asked for it), or one a viewer follows. */
  function applyView(view, own = false) {
    if (!view || typeof view !== "object") return;
    if (!own && !following()) return;
    const seg = (attr, value, key) => {
      if (typeof value !== "string") return;
      state.ui[key] = value;
      for (const b of document.querySelectorAll(`[data-${attr}]`)) b.setAttribute("aria-checked", String(b.dataset[attr] === value));
    };
    seg("edge", view.edge, "edgeMode");
    seg("node", view.node, "nodeMode");
    seg("chart", view.chart, "layerChart");
    if (typeof view.log === "boolean") {
      state.ui.logScale = view.log;
      const box = document.getElementById("log-scale");
      if (box) box.checked = view.log;
    }
    if ("explain" in view) {
      if (view.explain && !sameTarget(state.ui.selected, view.explain)) ctx.openExplain(structuredClone(view.explain));
      else if (!view.explain && state.ui.selected) ctx.closeExplain();
    }
    if (!own) {
      lessons.follow(view.lesson ?? null);
      race.follow(view.race ?? null);
    }
    state.dirty = true;
  }

  // --- hooks main.js calls -----------------------------------------------------------------------------

  /** The websocket's hello: a late joiner takes the presenter's view from it. */
  function onHello(msg) {
    lastSent = "";
    if (cls.mode === "viewer" && !msg.presenting) ctx.toast("This session is not presented any more: you are watching it read-only.");
    const view = msg.view ?? pendingView;
    pendingView = null;
    if (view) applyView(view);
  }

  function onEvent(msg) {
    if (msg.event === "view") applyView(msg.view);
    else if (msg.event === "moved" && cls.mode === "viewer" && cls.joinCode) join(cls.joinCode).catch(ctx.fail);
    else if (msg.event === "deleted" && cls.mode === "viewer" && cls.joinCode) join(cls.joinCode, 0, state.session.id).catch(ctx.fail);
    else if (msg.event === "present" && cls.mode === "viewer" && msg.code === null) ctx.toast("The presenter stopped presenting.");
  }

  /** main.js switched to another session: a presenter's class moves along with it. */
  function onSwitch(id, token) {
    if (cls.mode !== "presenter" || !cls.code) return;
    cls.presented = null; // no view messages until the class has moved here
    if (!token) {
      Object.assign(cls, { mode: null, code: null, secret: null });
      return;
    }
    api
      .request("POST", `/api/sessions/${id}/present`, { body: { code: cls.code, secret: cls.secret }, token })
      .then((p) => state.session.id === id && showPresentation(p))
      .catch(ctx.fail);
  }

  /** The page's URL for a class member: the join link, so a reload joins again. */
  function urlQuery() {
    return cls.mode === "viewer" && cls.joinCode ? `join=${cls.joinCode}` : null;
  }

  /** Start from the URL: ?join=CODE. Returns false when the URL holds no join code. */
  async function boot(search) {
    const code = joinCodeOf(search);
    if (!code) return false;
    cls.joinCode = code;
    await join(code);
    return true;
  }

  // --- every animation frame ------------------------------------------------------------------------
  function update(now) {
    const presenting = cls.mode === "presenter" && state.session.role === "controller";
    if (presenting && cls.presented === state.session.id) relay(now);
    if (presenting && now - viewersAt > VIEWERS_POLL_MS) {
      viewersAt = now;
      api
        .request("GET", `/api/join/${cls.code}`)
        .then((j) => {
          watching = Math.max(0, j.viewers - 1); // less the presenter's own page
          state.dirty = true;
        })
        .catch(() => {});
    }
    forks.update(state, now, presenting);
    race.update(state, now);
    if (!state.dirty) return;
    // top bar
    const role = state.session.role;
    presentBtn.hidden = role !== "controller" || cls.mode === "fork";
    presentBtn.classList.toggle("on", presenting);
    presentBtn.textContent = presenting ? `● ${cls.code}` : "Present";
    lessonsBtn.hidden = raceBtn.hidden = role !== "controller";
    countOut.textContent = `${watching} watching`;
    badge.hidden = !following() || !cls.joinCode;
    badge.textContent = `Class ${cls.joinCode}`;
    badge.title = "You follow the presenter: their steps, panels and explained weights appear here";
    forkBtn.hidden = !following();
    backBtn.hidden = cls.mode !== "fork" || !cls.joinCode;
    backBtn.textContent = `← class ${cls.joinCode}`;
    lockForViewers(role);
  }

  function relay(now) {
    const socket = ctx.socket();
    if (!socket || state.session.status !== "live") return;
    const view = viewOf(state, { lesson: lessons.current(), race: race.current() });
    const text = JSON.stringify(view);
    if (text === lastSent || now - lastSentAt < VIEW_MIN_INTERVAL_MS) return;
    if (socket.send(viewMessage(state.session.token, view))) {
      lastSent = text;
      lastSentAt = now;
    }
  }

  /** A viewer's page shows the controls greyed out and refuses input (the server refuses anyway). */
  function lockForViewers(role) {
    if (role === lockedRole) return;
    lockedRole = role;
    const off = role === "viewer";
    for (const node of document.querySelectorAll(".hyperbar input, .hyperbar select, .side input:not(#show-test):not(#discretize), .side select, .side button, .net-tools > button, #import")) {
      node.disabled = off;
    }
  }

  return { onHello, onEvent, onSwitch, urlQuery, boot, update, applyView, lessons, race };
}
