/**
 * The runtime against the loopback Airflow: submit waits for the DAG to be parsed, triggers a DAG run
 * named after the orch run and follows it; Airflow's retries (up_for_retry) re-run a step as a new try;
 * stop marks the DAG run failed; logs come from the task logs API; auth failures and an Airflow that
 * never parses the file are clear errors.
 */
import { afterEach, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { isOrchError, readRunRecord, readStepRecord, type Orchestrator } from "@orch/core/plugin";
import { AirflowClient } from "./client.js";
import { createHarness, until, type Harness } from "../test/harness.js";
import { pythonMissing } from "../test/python.js";
import { failing, gated, mapped, retried } from "../test/fixtures/project/src/pipeline.js";

const fixtureRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
let n = 0;
const runId = () => `run-${process.pid}-${++n}`;
const snapshotOf = (p: any, params: Record<string, unknown> = {}) => compilePipeline(p, params, { projectRoot: fixtureRoot }).snapshot;
async function submit(runtime: Orchestrator, p: any, params: Record<string, unknown> = {}, id = runId()) {
  const handle = await runtime.submit(snapshotOf(p, params), { runId: id, signal: new AbortController().signal });
  return { id, handle };
}
async function orchError(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isOrchError(error)) return error;
    throw error;
  }
  throw new Error("expected an OrchError");
}

describe.skipIf(pythonMissing)("the airflow runtime against the loopback Airflow", () => {
  for (const version of [2, 3] as const) {
    it(`Airflow ${version}: waits for the new DAG to be parsed (404 meanwhile), unpauses it, and the run succeeds`, async () => {
      h = await createHarness({ version, parseDelayMs: 1000, projectRoot: fixtureRoot });
      const runtime = h.runtime();
      const { id, handle } = await submit(runtime, mapped, { n: 4 });
      const dagPath = `/api/v${version === 3 ? 2 : 1}/dags/mapped`;
      expect(h.server.requests.filter((r) => r === `GET ${dagPath}`).length).toBeGreaterThan(1);
      expect(h.server.requests).toContain(`PATCH ${dagPath}`);
      const { run } = await handle.wait();
      expect(run.status).toBe("succeeded");
      expect(h.server.dags.get("mapped")?.is_paused).toBe(false);
      expect(h.server.runs.get(`mapped/${id}`)?.conf).toEqual({ orch_run_id: id, parameters: { n: 4 } });
      expect((await readStepRecord(h.store, id, "dag"))?.status).toBe("succeeded");
    });
  }

  it("a failed try is up_for_retry, then Airflow's next try (ORCH_ATTEMPT 2) succeeds; logs show both tries", async () => {
    h = await createHarness({ version: 3, projectRoot: fixtureRoot, timeScale: 1 });
    const runtime = h.runtime();
    const marker = `${h.dir}/flaky-marker`;
    const { id, handle } = await submit(runtime, retried, { marker });
    const client = new AirflowClient({ ...(h.config as any), airflowVersion: 3, token: undefined });
    await until(async () => (await client.taskInstances("retried", id).catch(() => [])).find((t) => t.state === "up_for_retry"), "the task to be up_for_retry");
    const { run } = await handle.wait();
    expect(run.status).toBe("succeeded");
    const record = await readStepRecord(h.store, id, "flaky");
    expect([record?.status, record?.attempts]).toEqual(["succeeded", 2]);
    expect((await client.taskInstances("retried", id))[0]).toMatchObject({ state: "success", try_number: 2 });
    const lines: string[] = [];
    for await (const line of runtime.logs!(id, "flaky")) lines.push(line);
    const text = lines.join("\n");
    expect(text).toContain("── try 1: Airflow task flaky ──");
    expect(text).toContain("flaky: first try fails on purpose");
    expect(text).toContain("── try 2: Airflow task flaky ──");
    expect(text).toContain("flaky: second try succeeds");
    expect(text.indexOf("try 1:")).toBeLessThan(text.indexOf("try 2:"));
  });

  it("stop marks the DAG run failed: the running task is killed, the rest skipped, the run recorded stopped", async () => {
    h = await createHarness({ version: 2, projectRoot: fixtureRoot });
    const runtime = h.runtime({ synchronous: false });
    const { id } = await submit(runtime, gated, { gate: `${h.dir}/never-opened` });
    await until(async () => (await readStepRecord(h!.store, id, "wait_for_gate"))?.status === "running", "the gated step to run");
    expect(await runtime.status!(id)).toBe("running");
    await runtime.stop!(id);
    const run = await readRunRecord(h.store, id);
    expect(run?.status).toBe("stopped");
    expect(h.server.runs.get(`gated/${id}`)?.state).toBe("failed");
    expect((await readStepRecord(h.store, id, "wait_for_gate"))?.status).toBe("stopped");
    expect((await readStepRecord(h.store, id, "after_gate"))?.status).toBe("stopped");
    expect(h.server.requests).toContain(`PATCH /api/v1/dags/gated/dagRuns/${id}`);
  });

  it("a failing step fails the run fast, naming the step; an asynchronous run's status comes from Airflow", async () => {
    h = await createHarness({ version: 3, projectRoot: fixtureRoot });
    const runtime = h.runtime({ synchronous: false });
    const { id } = await submit(runtime, failing);
    await until(async () => (await runtime.status!(id)) !== "running", "the run to end");
    const run = await readRunRecord(h.store, id);
    expect(run?.status).toBe("failed");
    expect(run?.error?.message).toContain('Step "always_fails" failed');
    expect(h.server.runs.get(`failing/${id}`)?.state).toBe("failed");
  });

  it("refuses a run id Airflow already has (409)", async () => {
    h = await createHarness({ version: 3, projectRoot: fixtureRoot });
    const runtime = h.runtime({ synchronous: false });
    const { id } = await submit(runtime, mapped, { n: 1 });
    const error = await orchError(submit(runtime, mapped, { n: 1 }, id));
    expect(error.code).toBe("E_RUN_EXISTS");
    expect(error.message).toContain(id);
  });

  it("says clearly when Airflow never parses the file (wrong dagsFolder)", async () => {
    h = await createHarness({ version: 3, projectRoot: fixtureRoot, readDags: async () => [] });
    const error = await orchError(submit(h.runtime({ parseTimeoutSeconds: 1 }), mapped, { n: 1 }));
    expect(error.code).toBe("E_BACKEND_UNAVAILABLE");
    expect(error.message).toMatch(/Airflow did not parse DAG mapped \(mapped\.py in .*\) within 1s/);
    expect(error.hint).toContain("dagsFolder");
  });

  for (const version of [2, 3] as const) {
    it(`Airflow ${version}: a wrong password is a config error naming what to check`, async () => {
      h = await createHarness({ version, projectRoot: fixtureRoot });
      const error = await orchError(submit(h.runtime({ password: "wrong" }), mapped, { n: 1 }));
      expect(error.code).toBe("E_CONFIG_INVALID");
      expect(error.message).toContain("HTTP 401");
      expect(error.message).toContain(version === 3 ? "/auth/token" : "reading DAG mapped");
      expect(error.hint).toContain("password");
      expect(error.message).not.toContain("wrong");
    });
  }

  it("an unreachable host is a clear error", async () => {
    h = await createHarness({ version: 3, projectRoot: fixtureRoot });
    const error = await orchError(submit(h.runtime({ host: "http://127.0.0.1:9" }), mapped, { n: 1 }));
    expect(error.code).toBe("E_BACKEND_UNAVAILABLE");
    expect(error.message).toContain("unreachable");
  });
});
