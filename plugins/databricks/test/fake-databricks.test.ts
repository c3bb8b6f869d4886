/**
 * The loopback workspace itself: it honours timeout_seconds and retry_on_timeout of what it was given,
 * shows WAITING_FOR_RETRY between attempts, and refuses job-run ids on runs/get-output as Databricks does.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DatabricksClient, DatabricksApiError } from "../src/client.js";
import { startFakeDatabricks, type FakeDatabricks } from "./fake-databricks.js";

let workspace: FakeDatabricks | undefined;
afterEach(async () => {
  await workspace?.close();
  workspace = undefined;
});

describe("the loopback Databricks workspace", () => {
  it("kills a task at timeout_seconds, retries it on timeout after WAITING_FOR_RETRY, and serves output per task run only", async () => {
    workspace = await startFakeDatabricks({ token: "t", timeScale: 1 });
    const client = new DatabricksClient({ host: workspace.url, token: "t" });
    await client.importFile("/Shared/slow.py", "import time\nprint('started', flush=True)\ntime.sleep(60)\n");
    const { job_id } = await client.createJob({
      name: "slow",
      tags: {},
      max_concurrent_runs: 1,
      format: "MULTI_TASK",
      parameters: [],
      job_clusters: [{ job_cluster_key: "c", new_cluster: { spark_version: "15.4.x-scala2.12", node_type_id: "m5d.large", num_workers: 0 } }],
      tasks: [{ task_key: "slow", job_cluster_key: "c", spark_python_task: { python_file: "/Shared/slow.py", source: "WORKSPACE" }, timeout_seconds: 1, max_retries: 1, min_retry_interval_millis: 1500, retry_on_timeout: true }],
    });
    const { run_id } = await client.runNow(job_id, {}, "slow-1");
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const run = await client.getRun(run_id);
      for (const task of run.tasks ?? []) seen.add(task.state.life_cycle_state);
      if (run.state.life_cycle_state === "TERMINATED") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const run = await client.getRun(run_id);
    expect(run.state.result_state).toBe("FAILED");
    expect(run.tasks!.map((t) => [t.attempt_number, t.state.result_state])).toEqual([
      [0, "TIMEDOUT"],
      [1, "TIMEDOUT"],
    ]);
    expect(seen).toContain("WAITING_FOR_RETRY");
    expect((await client.getRunOutput(run.tasks![0]!.run_id)).logs).toContain("started");
    const jobRunOutput = await client.getRunOutput(run_id).catch((e: unknown) => e);
    expect(jobRunOutput).toBeInstanceOf(DatabricksApiError);
    expect(jobRunOutput).toMatchObject({ status: 400, errorCode: "INVALID_PARAMETER_VALUE" });
  }, 30_000);
});
