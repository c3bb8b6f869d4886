// orch dashboard: the only script. Pages work without it; it adds live updates of a running run
// (server-sent events: DAG nodes, the run's status line, the open step's log) and runs the action
// buttons without a page reload. Plain browser JavaScript, no build step.
(() => {
  "use strict";
  const main = document.querySelector("main.run");

  // ── action buttons (stop / resume / delete) ──
  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = form.dataset.action;
      if (name === "delete" && !confirm("Delete this run from the index and its journal? Its artifacts stay.")) return;
      const result = document.querySelector(".action-result");
      const button = form.querySelector("button");
      button.disabled = true;
      if (result) result.textContent = `${name}…`;
      try {
        const token = new FormData(form).get("token");
        const response = await fetch(form.action, { method: "POST", headers: { "x-orch-token": token } });
        const body = await response.json();
        const message = body.message ?? body.error?.message ?? response.statusText;
        if (result) result.textContent = message;
        if (response.ok) {
          if (name === "delete") location.assign("/");
          else setTimeout(() => location.reload(), name === "resume" ? 800 : 200);
        }
      } catch (error) {
        if (result) result.textContent = String(error);
      } finally {
        button.disabled = false;
      }
    });
  }

  // ── runs page: while a listed run is going, refresh the table in place ──
  const listing = document.querySelector("main[data-refresh]");
  if (listing) {
    const refresh = async () => {
      const response = await fetch(location.href).catch(() => undefined);
      if (!response || !response.ok) return setTimeout(refresh, 5000);
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const selector of ["table.runs tbody", "h1 .count", ".pager"]) {
        const now = document.querySelector(selector);
        const next = fresh.querySelector(selector);
        if (now && next) now.replaceWith(next);
      }
      const again = fresh.querySelector("main[data-refresh]");
      if (again) setTimeout(refresh, Number(again.dataset.refresh));
      else listing.removeAttribute("data-refresh");
    };
    setTimeout(refresh, Number(listing.dataset.refresh));
  }

  if (!main || !main.dataset.live || !window.EventSource) return;

  const panel = () => document.getElementById("panel");
  const stepNode = (id) => document.querySelector(`svg.dag a.node[data-step="${CSS.escape(id)}"]`);
  const ICON = { pending: "○", running: "◐", succeeded: "✓", cached: "↺", failed: "✗", skipped: "−", stopped: "■", interrupted: "✗" };
  const setBadge = (holder, status) => {
    const badge = holder && holder.querySelector(".badge");
    if (!badge) return;
    badge.className = `badge s-${status}`;
    badge.dataset.status = status;
    badge.textContent = `${ICON[status] ?? "·"} ${status}`;
  };
  const finished = (status) => !["pending", "running"].includes(status);

  const reloadPart = async (selector, fragment) => {
    const url = new URL(location.href);
    url.searchParams.set("fragment", fragment);
    const response = await fetch(url);
    if (!response.ok) return;
    const holder = document.querySelector(selector);
    if (holder) holder.outerHTML = await response.text();
  };

  let source;
  const connect = () => {
    const url = new URL(main.dataset.live, location.href);
    const open = panel();
    if (open) {
      url.searchParams.set("log", open.dataset.step);
      url.searchParams.set("from", open.dataset.logSize || "0");
    }
    source = new EventSource(url);
    source.addEventListener("state", (event) => {
      const state = JSON.parse(event.data);
      let missing = false;
      for (const step of state.steps) {
        const node = stepNode(step.id);
        if (!node) {
          missing = true;
          continue;
        }
        node.classList.remove(...[...node.classList].filter((c) => c.startsWith("s-")));
        node.classList.add(`s-${step.status}`);
        node.dataset.status = step.status;
        node.setAttribute("aria-label", `${step.id}: ${step.label}`);
        const title = node.querySelector("title");
        if (title) title.textContent = `${step.id}: ${step.label}`;
        const text = node.querySelector("text.state");
        if (text) text.textContent = step.label;
        const open = panel();
        if (open && open.dataset.step === step.id) {
          setBadge(open.querySelector("[data-panel-status]"), step.status);
          const duration = open.querySelector("[data-panel-duration]");
          if (duration) duration.textContent = step.duration;
          // Outputs, errors and the whole log appear once the step is over.
          if (finished(step.status)) reloadPart("#panel", "panel");
        }
      }
      setBadge(document.querySelector("[data-run-status]"), state.run.status);
      main.dataset.status = state.run.status;
      const duration = document.querySelector("[data-run-duration]");
      if (duration) duration.textContent = state.run.duration;
      const counts = document.querySelector("[data-run-counts]");
      if (counts) counts.textContent = state.run.counts;
      // A dynamic pipeline added steps: draw the DAG again.
      if (missing || document.querySelectorAll("svg.dag a.node").length !== state.nodes) reloadPart(".dag-wrap", "dag");
    });
    source.addEventListener("log", (event) => {
      const { step, text } = JSON.parse(event.data);
      const open = panel();
      const log = open && open.dataset.step === step ? open.querySelector("#log") : null;
      if (!log) return;
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(text);
      open.dataset.logSize = String(Number(open.dataset.logSize || 0) + new TextEncoder().encode(text).length);
      open.querySelector("[data-log-empty]")?.remove();
      if (atBottom) log.scrollTop = log.scrollHeight;
    });
    source.addEventListener("end", (event) => {
      source.close();
      const { status } = JSON.parse(event.data);
      main.dataset.status = status;
      main.dataset.ended = "true";
      // The run's error line and the buttons depend on the final status.
      reloadPart(".run-head", "head");
    });
    source.addEventListener("gone", () => source.close());
  };
  connect();
})();
