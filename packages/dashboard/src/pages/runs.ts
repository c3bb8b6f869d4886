/** `/`: every run of the project, newest first, filtered and paged in SQL (fast with 10,000 runs). */
import type { OrchIndex, RunRow } from "@orch/store-sqlite";
import { formatDuration, formatTime, runStatus, since } from "../format.js";
import { html, seg } from "../html.js";
import { page, statusBadge } from "./layout.js";

export const PAGE_SIZE = 50;
const STATUSES = ["running", "succeeded", "failed", "stopped", "interrupted"];

export interface RunsQuery {
  pipeline?: string | undefined;
  status?: string | undefined;
  stack?: string | undefined;
  page?: number | undefined;
}

export function readRunsQuery(params: URLSearchParams): RunsQuery {
  const pick = (key: string) => params.get(key)?.trim() || undefined;
  const pageNo = Number(params.get("page") ?? 1);
  return { pipeline: pick("pipeline"), status: pick("status"), stack: pick("stack"), page: Number.isInteger(pageNo) && pageNo > 0 ? pageNo : 1 };
}

function stepsCell(run: RunRow): string {
  const counts = run.stepCounts ?? {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (!total) return "-";
  const cached = counts.cached ?? 0;
  return `${cached} cached / ${total}`;
}

export function renderRunsPage(index: OrchIndex, query: RunsQuery): string {
  const filter = { ...(query.pipeline ? { pipeline: query.pipeline } : {}), ...(query.status ? { status: query.status } : {}), ...(query.stack ? { stack: query.stack } : {}) };
  const total = index.countRuns(filter);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const current = Math.min(query.page ?? 1, pages);
  const runs = index.listRuns({ ...filter, limit: PAGE_SIZE, offset: (current - 1) * PAGE_SIZE });
  const pipelines = index.listPipelines().map((p) => p.name);
  if (query.pipeline && !pipelines.includes(query.pipeline)) pipelines.push(query.pipeline);
  const stacks = index.listStacks().map((s) => s.name);
  const select = (name: string, label: string, options: string[], value: string | undefined) =>
    html`<label>${label} <select name="${name}"><option value="">all</option>${options.map((o) => html`<option${o === value ? html` selected` : ""}>${o}</option>`)}</select></label>`;
  const href = (pageNo: number) => {
    const params = new URLSearchParams({ ...filter, ...(pageNo > 1 ? { page: String(pageNo) } : {}) });
    const text = params.toString();
    return text ? `/?${text}` : "/";
  };
  // While a listed run is going, the script refreshes the table (statuses, durations, step counts).
  const live = runs.some((r) => r.status === "running");
  const body = html`<main id="main"${live ? html` data-refresh="2000"` : ""}>
<h1>Runs <span class="count">${total.toLocaleString("en")}</span></h1>
<form class="filters" method="get" action="/">${select("pipeline", "Pipeline", pipelines, query.pipeline)}${select("status", "Status", STATUSES, query.status)}${select("stack", "Stack", stacks, query.stack)}<button type="submit">Filter</button>${Object.keys(filter).length ? html` <a href="/">clear</a>` : ""}</form>
${
  runs.length
    ? html`<table class="runs"><thead><tr><th scope="col">Run</th><th scope="col">Pipeline</th><th scope="col">Stack</th><th scope="col">Status</th><th scope="col">Steps</th><th scope="col">Duration</th><th scope="col">Started</th></tr></thead><tbody>
${runs.map((r) => html`<tr data-run="${r.runId}"><td><a href="/runs/${seg(r.runId)}">${r.runId}</a></td><td>${r.pipeline}</td><td>${r.stack ?? "-"}</td><td>${statusBadge(runStatus(r))}</td><td>${stepsCell(r)}</td><td>${formatDuration(since(r.startedAt, r.finishedAt))}</td><td><time datetime="${r.startedAt}">${formatTime(r.startedAt)}</time></td></tr>\n`)}</tbody></table>`
    : html`<p class="empty">${total ? "No runs on this page." : Object.keys(filter).length ? "No runs match these filters." : "No runs yet. Start one: orch pipeline run FILE"}</p>`
}
<nav class="pager" aria-label="pages">${current > 1 ? html`<a rel="prev" href="${href(current - 1)}">← newer</a>` : ""}<span>page ${current} of ${pages}</span>${current < pages ? html`<a rel="next" href="${href(current + 1)}">older →</a>` : ""}</nav>
</main>`;
  return page("Runs", "runs", body);
}
