/**
 * The REST client against the loopback workspace: Databricks' error bodies, 429 with Retry-After,
 * paging, OAuth M2M tokens, and the idempotency of run-now and of the job orch creates.
 */
import { afterEach, describe, expect, it } from "vitest";
import { isOrchError, parseComponentConfig } from "@orch/core/plugin";
import plugin from "./index.js";
import { DatabricksApiError, DatabricksClient, isNotFound, resolveCredentials, toOrchError } from "./client.js";
import { startFakeDatabricks, type FakeDatabricks } from "../test/fake-databricks.js";
import type { JobSettings } from "./api-types.js";

let workspace: FakeDatabricks | undefined;
afterEach(async () => {
  await workspace?.close();
  workspace = undefined;
});
const job = (name: string, extra: Partial<JobSettings> = {}): JobSettings => ({ name, tags: {}, max_concurrent_runs: 1, format: "MULTI_TASK", parameters: [{ name: "orch_run_id", default: "" }], job_clusters: [], tasks: [], ...extra });

describe("the Databricks client", () => {
  it("waits out 429 answers for their Retry-After, then succeeds", async () => {
    workspace = await startFakeDatabricks({ token: "t" });
    const client = new DatabricksClient({ host: workspace.url, token: "t" });
    workspace.failNext("/api/2.2/jobs/create", 429, 2);
    const started = Date.now();
    const { job_id } = await client.createJob(job("rate-limited"));
    expect(job_id).toBeGreaterThan(0);
    expect(workspace.requests.filter((r) => r === "POST /api/2.2/jobs/create")).toHaveLength(3);
    // Two Retry-After: 1 answers were waited out, not retried at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });

  it("gives Databricks' error_code and message: RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, a refused token", async () => {
    workspace = await startFakeDatabricks({ token: "t" });
    const client = new DatabricksClient({ host: workspace.url, token: "t" });
    const missing = await client.getJob(424242).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DatabricksApiError);
    expect(isNotFound(missing)).toBe(true);
    expect((missing as DatabricksApiError).errorCode).toBe("RESOURCE_DOES_NOT_EXIST");
    const invalid = await client.createJob(job("bad", { tasks: [{ task_key: "a", depends_on: [{ task_key: "nope" }] }] })).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, errorCode: "INVALID_PARAMETER_VALUE" });
    const asOrch = toOrchError(invalid, "creating job bad");
    expect(isOrchError(asOrch) && asOrch.code).toBe("E_CONFIG_INVALID");
    expect(asOrch.message).toContain("depends on nope");
    const refused = await new DatabricksClient({ host: workspace.url, token: "wrong" }).getJob(1).catch((e: unknown) => e);
    expect(toOrchError(refused, "reading job 1")).toMatchObject({ code: "E_CONFIG_INVALID", key: "client_id" });
  });

  it("follows has_more / next_page_token through every page of jobs and of a run's tasks", async () => {
    workspace = await startFakeDatabricks({ token: "t", tasksPageSize: 2 });
    const client = new DatabricksClient({ host: workspace.url, token: "t" });
    for (let i = 0; i < 105; i++) await client.createJob(job(`job-${i}`));
    const all = await client.listJobs();
    expect(new Set(all.map((j) => j.settings.name)).size).toBe(105);
    expect(workspace.requests.filter((r) => r === "GET /api/2.2/jobs/list")).toHaveLength(2);
    expect((await client.listJobs("job-7")).map((j) => j.settings.name)).toEqual(["job-7"]);
    // A run of 5 tasks that fail at once (no launcher in the workspace): runs/get pages them 2 at a time.
    const tasks = ["a", "b", "c", "d", "e"].map((task_key) => ({ task_key, job_cluster_key: "c", spark_python_task: { python_file: "/missing.py", source: "WORKSPACE" as const } }));
    const { job_id } = await client.createJob(job("five", { tasks, job_clusters: [{ job_cluster_key: "c", new_cluster: { spark_version: "x", node_type_id: "y", num_workers: 0 } }] }));
    const { run_id } = await client.runNow(job_id, {}, "five-1");
    for (let i = 0; i < 100 && (await client.getRun(run_id)).state.life_cycle_state !== "TERMINATED"; i++) await new Promise((r) => setTimeout(r, 50));
    const run = await client.getRun(run_id);
    expect(run.tasks!.map((t) => t.task_key).sort()).toEqual(["a", "b", "c", "d", "e"]);
    expect(run.state.result_state).toBe("FAILED");
  });

  it("uses one idempotency token per run: run-now sent twice starts one run", async () => {
    workspace = await startFakeDatabricks({ token: "t" });
    const client = new DatabricksClient({ host: workspace.url, token: "t" });
    const { job_id } = await client.createJob(job("once"));
    const first = await client.runNow(job_id, { orch_run_id: "r-1" }, "r-1");
    const again = await client.runNow(job_id, { orch_run_id: "r-1" }, "r-1");
    expect(again.run_id).toBe(first.run_id);
    expect(workspace.runs.size).toBe(1);
    expect((await client.getRun(first.run_id)).job_parameters).toEqual([{ name: "orch_run_id", value: "r-1" }]);
  });

  it("gets an OAuth M2M token from {host}/oidc/v1/token once and reuses it until it expires", async () => {
    workspace = await startFakeDatabricks({ client: { id: "sp-id", secret: "sp-secret" } });
    const client = new DatabricksClient({ host: workspace.url, clientId: "sp-id", clientSecret: "sp-secret" });
    await client.listJobs();
    await client.listJobs();
    expect(workspace.tokensIssued).toBe(1);
    const wrong = await new DatabricksClient({ host: workspace.url, clientId: "sp-id", clientSecret: "nope" }).listJobs().catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 401, errorCode: "invalid_client" });
  });

  it("reads the host and credentials from the config, else DATABRICKS_* variables, and says what is missing", () => {
    const cfg = (extra: Record<string, unknown>) => parseComponentConfig(plugin, extra);
    expect(resolveCredentials(cfg({}), { DATABRICKS_HOST: "https://h.example.com/", DATABRICKS_TOKEN: "pat" })).toEqual({ host: "https://h.example.com", token: "pat" });
    expect(resolveCredentials(cfg({ host: "https://a.example.com", clientId: "id", clientSecret: "s" }), { DATABRICKS_TOKEN: "pat" })).toEqual({ host: "https://a.example.com", clientId: "id", clientSecret: "s" });
    expect(() => resolveCredentials(cfg({}), {})).toThrow(expect.objectContaining({ code: "E_CONFIG_INVALID", key: "host" }));
    expect(() => resolveCredentials(cfg({ host: "https://a.example.com", clientId: "id" }), {})).toThrow(expect.objectContaining({ key: "client_secret" }));
    expect(() => resolveCredentials(cfg({ host: "https://a.example.com" }), {})).toThrow(/no credentials/);
  });
});
