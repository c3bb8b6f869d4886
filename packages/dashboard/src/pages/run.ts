/** `/runs/<runId>` and `/runs/<runId>/steps/<stepId>`: the run's summary, its DAG and a step's panel. */
import type { StepRecord } from "@orch/core";
import type { StepRow } from "@orch/store-sqlite";
import type { DashboardData, RunView } from "../data.js";
import { renderDag, type NodeState } from "../dag.js";
import { formatDuration, formatTime, runStatus, since } from "../format.js";
import { html, seg, type Html } from "../html.js";
import { renderPreview } from "../preview.js";
import { statusBadge } from "./layout.js";

export function nodeState(step: StepRecord | StepRow | undefined): NodeState {
  if (!step) return { status: "pending" };
  const durationMs = step.durationMs ?? (step.startedAt && step.status !== "pending" ? since(step.startedAt, step.finishedAt) : undefined);
  return { status: step.status, durationMs, attempts: step.attempts, cachedFrom: step.cachedFrom };
}

/** What the page says about the run (also sent live). */
export function runSummary(view: RunView): { status: string; duration: string; counts: string } {
  const finished = [...view.steps.values()].filter((s) => s.status === "succeeded" || s.status === "cached").length;
  const cached = [...view.steps.values()].filter((s) => s.status === "cached").length;
  return {
    status: runStatus(view.run),
    duration: formatDuration(since(view.run.startedAt, view.run.finishedAt)),
    counts: `${finished}/${view.order.length} steps done, ${cached} cached`,
  };
}

export interface ActionsAccess {
  /** The per-start token, when the browser proved it knows it (the URL `orch up` printed). */
  token?: string | undefined;
}

export function renderRunHeader(view: RunView, access: ActionsAccess): Html {
  const { run } = view;
  const summary = runSummary(view);
  const params = Object.entries(run.parameters ?? {});
  const running = run.status === "running";
  const action = (name: string, label: string, enabled: boolean) =>
    enabled ? html`<form method="post" action="/api/runs/${seg(run.runId)}/${name}" data-action="${name}"><input type="hidden" name="token" value="${access.token ?? ""}"><button type="submit" class="${name === "delete" ? "danger" : ""}">${label}</button></form>` : "";
  return html`<section class="run-head" aria-label="run summary">
<h1>Run <code>${run.runId}</code> <span data-run-status>${statusBadge(summary.status)}</span></h1>
<dl class="facts"><div><dt>Pipeline</dt><dd>${run.pipeline}</dd></div><div><dt>Stack</dt><dd>${run.stack ?? "-"}</dd></div><div><dt>Orchestrator</dt><dd>${run.orchestrator ?? "-"}</dd></div><div><dt>Started</dt><dd><time datetime="${run.startedAt}">${formatTime(run.startedAt)}</time></dd></div><div><dt>Duration</dt><dd data-run-duration>${summary.duration}</dd></div><div><dt>Steps</dt><dd data-run-counts>${summary.counts}</dd></div>${params.length ? html`<div><dt>Parameters</dt><dd><code>${params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ")}</code></dd></div>` : ""}</dl>
${run.error ? html`<p class="error" role="alert" data-run-error><strong>Error:</strong> ${run.error.message.split("\n")[0]}</p>` : ""}
${
  access.token
    ? html`<div class="actions" aria-label="run actions">${action("stop", "Stop run", running)}${action("resume", "Resume run", run.status === "failed" || run.status === "stopped")}${action("delete", "Delete run", !running)}<span class="action-result" role="status"></span></div>`
    : html`<p class="note readonly">Read-only: open the URL with the token that <code>orch up</code> printed to stop, resume or delete runs.</p>`
}
</section>`;
}

export function renderDagSection(view: RunView, selected?: string): Html {
  if (!view.order.length) return html`<section class="dag-wrap" aria-label="DAG"><p class="empty">No steps recorded yet.</p></section>`;
  const nodes = view.order.map((id) => ({ id, upstream: view.upstream(id) }));
  return html`<section class="dag-wrap" aria-label="DAG">${renderDag(view.run.runId, nodes, (id) => nodeState(view.steps.get(id)), selected)}</section>`;
}

const isRecord = (step: StepRecord | StepRow | undefined): step is StepRecord => Boolean(step && "metadata" in step);

export async function renderStepPanel(data: DashboardData, view: RunView, stepId: string): Promise<Html> {
  const step = (await data.stepRecord(view.run, stepId)) ?? view.steps.get(stepId);
  const snap = view.snapshot?.steps[stepId];
  const state = nodeState(step);
  const run = view.run;
  const error = step?.error as (StepRecord["error"] & { hint?: string }) | undefined;
  const params = (snap?.inputs ?? []).map((input, i) => ({ i, input })).filter((x) => x.input.kind === "param");
  const inputs = (snap?.inputs ?? []).map((input, i) => ({ i, input })).filter((x) => x.input.kind === "artifact");
  const outputs = Object.entries(step?.outputs ?? {});
  const previews = await Promise.all(outputs.map(([, output]) => renderPreview(output, () => data.loadOutput(run, output))));
  const log = await data.log(run, stepId);
  const metadata = isRecord(step) ? Object.entries(step.metadata) : [];
  return html`<section id="panel" class="panel" aria-labelledby="panel-title" data-step="${stepId}" data-log-size="${log.size}">
<h2 id="panel-title">Step <code>${stepId}</code> <span data-panel-status>${statusBadge(state.status)}</span> <a class="close" href="/runs/${seg(run.runId)}" aria-label="close the step panel">×</a></h2>
<dl class="facts"><div><dt>Step</dt><dd>${step?.name ?? snap?.name ?? stepId}</dd></div><div><dt>Duration</dt><dd data-panel-duration>${formatDuration(state.durationMs)}</dd></div><div><dt>Attempts</dt><dd>${step?.attempts ?? 0}</dd></div>${step?.cachedFrom ? html`<div><dt>Cached from</dt><dd><a href="/runs/${seg(step.cachedFrom)}/steps/${seg(stepId)}">${step.cachedFrom}</a></dd></div>` : ""}${snap?.upstream.length ? html`<div><dt>Needs</dt><dd>${snap.upstream.map((u, i) => html`${i ? ", " : ""}<a href="/runs/${seg(run.runId)}/steps/${seg(u)}">${u}</a>`)}</dd></div>` : ""}</dl>
${error ? html`<div class="error" role="alert" data-step-error><p><strong>${error.code ?? "Error"}:</strong> ${error.message}</p>${error.hint ? html`<p class="hint"><strong>Hint:</strong> ${error.hint}</p>` : ""}</div>` : ""}
${params.length ? html`<h3>Parameters</h3><dl class="kv">${params.map(({ i, input }) => html`<div><dt>argument ${i + 1}</dt><dd><code>${JSON.stringify((input as { value: unknown }).value)}</code></dd></div>`)}</dl>` : ""}
${inputs.length ? html`<h3>Inputs</h3><ul class="inputs">${inputs.map(({ i, input }) => { const a = input as { step: string; output: string }; return html`<li>argument ${i + 1}: <a href="/runs/${seg(run.runId)}/steps/${seg(a.step)}">${a.step}</a>.${a.output}</li>`; })}</ul>` : ""}
<h3>Outputs</h3>${outputs.length ? outputs.map(([name], i) => html`<div class="output" data-output="${name}"><h4>${name}</h4>${previews[i]}</div>`) : html`<p class="note">${state.status === "succeeded" || state.status === "cached" ? "This step returns nothing." : state.status === "pending" || state.status === "running" ? "No outputs yet." : `No outputs (the step ${state.status}).`}</p>`}
${metadata.length ? html`<h3>Metadata</h3><pre class="json">${JSON.stringify(Object.fromEntries(metadata), null, 2)}</pre>` : ""}
${snap ? html`<details><summary>Settings</summary><pre class="json">${JSON.stringify(snap.settings, null, 2)}</pre></details>` : ""}
<h3>Log</h3>${log.truncated ? html`<p class="note">Showing the last part of the log.</p>` : ""}<pre id="log" class="log" tabindex="0" aria-label="step log" aria-live="off">${log.text}</pre>${!log.text && state.status !== "running" ? html`<p class="note" data-log-empty>No log lines.</p>` : ""}
</section>`;
}
