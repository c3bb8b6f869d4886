/** `/pipelines`: each pipeline with its versions (structural hashes seen in runs) and its schedules. */
import { nextCronTimes } from "@orch/core/host";
import type { OrchIndex, ScheduleRow } from "@orch/store-sqlite";
import { formatTime } from "../format.js";
import { html, seg } from "../html.js";
import { page, statusBadge } from "./layout.js";

function describeSchedule(schedule: Record<string, unknown>): string {
  if (typeof schedule.cron === "string") return `cron ${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : ""}`;
  if (typeof schedule.intervalSeconds === "number") return `every ${schedule.intervalSeconds} s`;
  if (typeof schedule.runOnceAt === "string") return `once at ${formatTime(schedule.runOnceAt)}`;
  return JSON.stringify(schedule);
}

/** The next fire time: the one the index keeps, else the next match of the cron expression. */
export function nextFire(row: ScheduleRow, now = new Date()): string | undefined {
  if (row.state !== "active") return undefined;
  if (row.nextRunAt) return row.nextRunAt;
  const { cron, timezone, intervalSeconds, runOnceAt } = row.schedule as { cron?: string; timezone?: string; intervalSeconds?: number; runOnceAt?: string };
  try {
    if (cron) return nextCronTimes(cron, now, 1, timezone)[0]?.toISOString();
  } catch {
    return undefined;
  }
  if (runOnceAt) return runOnceAt;
  if (intervalSeconds && row.lastRunAt) return new Date(Date.parse(row.lastRunAt) + intervalSeconds * 1000).toISOString();
  return undefined;
}

export function renderPipelinesPage(index: OrchIndex): string {
  const pipelines = index.listPipelines();
  const versions = index.pipelineVersions();
  const schedules = index.listSchedules();
  const names = [...new Set([...pipelines.map((p) => p.name), ...versions.map((v) => v.pipeline), ...schedules.map((s) => s.pipeline)])].sort();
  const body = html`<main id="main"><h1>Pipelines</h1>
${names.length ? "" : html`<p class="empty">No pipelines yet. Run one: orch pipeline run FILE</p>`}
${names.map((name) => {
  const info = pipelines.find((p) => p.name === name);
  const own = versions.filter((v) => v.pipeline === name);
  const scheduled = schedules.filter((s) => s.pipeline === name);
  return html`<section class="pipeline" aria-labelledby="p-${name}"><h2 id="p-${name}">${name}</h2>
<p class="facts">${info?.sourceFile ? html`source <code>${info.sourceFile}${info.exportName ? `#${info.exportName}` : ""}</code> · ` : ""}${own.reduce((n, v) => n + v.runs, 0)} runs · <a href="/?pipeline=${encodeURIComponent(name)}">show runs</a>${info?.lastStatus ? html` · last ${statusBadge(info.lastStatus)}` : ""}</p>
${own.length ? html`<h3>Versions</h3><table class="versions"><thead><tr><th scope="col">Snapshot hash</th><th scope="col">Runs</th><th scope="col">First run</th><th scope="col">Last run</th></tr></thead><tbody>${own.map((v) => html`<tr><td><code title="${v.hash ?? ""}">${v.hash?.slice(0, 12) ?? "-"}</code></td><td>${v.runs}</td><td>${formatTime(v.firstStartedAt)}</td><td>${formatTime(v.lastStartedAt)}</td></tr>`)}</tbody></table>` : ""}
${scheduled.length ? html`<h3>Schedules</h3><table class="schedules"><thead><tr><th scope="col">Schedule</th><th scope="col">When</th><th scope="col">Stack</th><th scope="col">State</th><th scope="col">Next run</th><th scope="col">Last run</th></tr></thead><tbody>${scheduled.map((s) => html`<tr data-schedule="${s.id}"><td><code>${s.id}</code></td><td>${describeSchedule(s.schedule)}</td><td>${s.stack}</td><td>${s.state}${s.managedBy === "native" ? " (orchestrator's scheduler)" : ""}</td><td>${formatTime(nextFire(s))}</td><td>${s.lastRunId ? html`<a href="/runs/${seg(s.lastRunId)}">${formatTime(s.lastRunAt)}</a>` : "-"}</td></tr>`)}</tbody></table>` : ""}
</section>`;
})}</main>`;
  return page("Pipelines", "pipelines", body);
}
