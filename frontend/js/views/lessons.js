// Guided lessons: a picker over GET /api/lessons, and a card that shows a lesson's texts one
// step at a time. The leader (the session's controller) loads the lesson's config and each
// step's actions drive the session; a class that follows only sees the same card.

import { lessonActions, deepMerge } from "../classroom.js";

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
 * @param {{api, state, toast, fail, isLeader, createSession(config), applyView(view), race, actions, changed}} ctx
 */
export function createLessons(ctx) {
  let list = null;
  let lesson = null; // {name, data, config, step}
  let running = false;
  const cache = new Map();

  // --- picker --------------------------------------------------------------------------------
  const items = el("div", { className: "lesson-list" });
  const dialog = el(
    "dialog",
    { className: "lesson-dialog", "aria-label": "Lessons" },
    el(
      "form",
      { method: "dialog", className: "lesson-form" },
      el("h2", { textContent: "Lessons" }),
      el("p", { className: "hint", textContent: "Each lesson loads a network and walks through it in a few steps. Your class sees the same texts." }),
      items,
      el("div", { className: "row end" }, el("button", { value: "cancel", className: "btn ghost", textContent: "Close" })),
    ),
  );
  document.body.append(dialog);

  async function fetchLesson(name) {
    if (!cache.has(name)) cache.set(name, await ctx.api.request("GET", `/api/lessons/${encodeURIComponent(name)}`));
    return cache.get(name);
  }

  async function openPicker() {
    if (!ctx.isLeader()) return;
    try {
      list ||= (await ctx.api.request("GET", "/api/lessons")).lessons;
    } catch (err) {
      ctx.fail(err);
      return;
    }
    items.replaceChildren(
      ...list.map((l, k) => {
        const b = el(
          "button",
          { type: "button", className: "lesson-item" },
          el("span", { className: "lesson-n", textContent: String(k + 1) }),
          el("span", { className: "lesson-text" }, el("b", { textContent: l.title }), el("span", { textContent: l.summary })),
          el("span", { className: `lesson-arch ${l.architecture}`, textContent: l.architecture.toUpperCase() }),
        );
        b.dataset.lesson = l.name;
        b.addEventListener("click", () => {
          dialog.close();
          load(l.name);
        });
        return b;
      }),
    );
    dialog.showModal();
  }

  // --- the card ---------------------------------------------------------------------------------
  const title = el("h2");
  const text = el("p", { className: "lesson-body" });
  const count = el("span", { className: "lesson-count" });
  const prev = el("button", { type: "button", className: "btn small ghost", textContent: "‹ Back" });
  const next = el("button", { type: "button", className: "btn small", textContent: "Next ›" });
  next.dataset.testid = "lesson-next";
  prev.dataset.testid = "lesson-prev";
  const shut = el("button", { type: "button", className: "btn ghost small", textContent: "×", title: "Close the lesson" });
  shut.setAttribute("aria-label", "Close the lesson");
  const card = el(
    "aside",
    { className: "lesson-card", hidden: true, "aria-live": "polite" },
    el("div", { className: "lesson-head" }, title, shut),
    text,
    el("div", { className: "lesson-foot" }, count, prev, next),
  );
  card.dataset.testid = "lesson-panel";
  document.body.append(card);
  prev.addEventListener("click", () => go(lesson.step - 1, false));
  next.addEventListener("click", () => go(lesson.step + 1, true));
  shut.addEventListener("click", () => {
    lesson = null;
    render();
    ctx.changed();
  });

  function render() {
    card.hidden = !lesson;
    if (!lesson) return;
    const steps = lesson.data.steps;
    const k = lesson.step;
    title.textContent = lesson.data.title;
    text.textContent = steps[k].text;
    count.textContent = `${k + 1} / ${steps.length}`;
    card.dataset.lesson = lesson.name;
    card.dataset.step = String(k);
    const lead = ctx.isLeader();
    prev.hidden = next.hidden = shut.hidden = !lead;
    prev.disabled = k === 0 || running;
    next.disabled = k >= steps.length - 1 || running;
    card.classList.toggle("busy", running);
  }

  async function load(name) {
    try {
      const data = await fetchLesson(name);
      running = true;
      lesson = { name, data, config: structuredClone(data.config), step: 0 };
      render();
      if (ctx.race.owns()) ctx.race.close(); // the last lesson's race ends with it
      await ctx.createSession(lesson.config);
      if (data.params) {
        const { id, token } = ctx.state.session;
        await ctx.api.request("PUT", `/api/sessions/${id}/params`, { body: { layers: data.params }, token });
      }
      running = false;
      await go(0, true);
    } catch (err) {
      running = false;
      render();
      ctx.fail(err);
    }
  }

  async function go(k, forward) {
    if (!lesson || k < 0 || k >= lesson.data.steps.length) return;
    lesson.step = k;
    render();
    ctx.changed();
    if (!forward || !ctx.isLeader()) return;
    running = true;
    render();
    try {
      for (const [action, arg] of lessonActions(lesson.data.steps[k])) await run(action, arg);
    } catch (err) {
      ctx.fail(err);
    } finally {
      running = false;
      render();
    }
  }

  async function run(action, arg) {
    const session = () => ctx.state.session;
    const call = (method, path, body) => ctx.api.request(method, `/api/sessions/${session().id}${path}`, { body, token: session().token });
    switch (action) {
      case "config":
        lesson.config = deepMerge(lesson.config, arg);
        await ctx.createSession(lesson.config);
        break;
      case "reset":
        if (ctx.state.playing) await call("POST", "/pause");
        await call("POST", "/reset");
        break;
      case "recover":
        await call("POST", "/recover", typeof arg === "number" ? { lr: arg } : {});
        break;
      case "set":
        await ctx.actions.train(structuredClone(arg));
        break;
      case "view":
        ctx.applyView(arg);
        break;
      case "step":
        if (ctx.state.playing) await call("POST", "/pause");
        await call("POST", "/step", { steps: Number(arg) || 1 });
        break;
      case "play":
        await call("POST", "/play", arg === true ? {} : arg);
        break;
      case "pause":
        await call("POST", "/pause");
        break;
      case "race":
        if (arg.variants) await ctx.race.start(arg.variants, lesson.config);
        if (arg.play) await ctx.race.play(arg.play);
        break;
      default:
        break;
    }
  }

  /** A class follows the presenter's lesson card: {name, step} or null. */
  async function follow(v) {
    if (!v) {
      if (lesson) {
        lesson = null;
        render();
      }
      return;
    }
    if (lesson?.name === v.name) {
      lesson.step = Math.min(Math.max(0, v.step | 0), lesson.data.steps.length - 1);
      render();
      return;
    }
    try {
      const data = await fetchLesson(v.name);
      lesson = { name: v.name, data, config: data.config, step: Math.min(Math.max(0, v.step | 0), data.steps.length - 1) };
      render();
    } catch {
      // an unknown lesson name: nothing to show
    }
  }

  return {
    openPicker,
    load,
    go,
    follow,
    render,
    current: () => (lesson ? { name: lesson.name, step: lesson.step } : null),
  };
}
