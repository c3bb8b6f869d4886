/**
 * The real `orch` binary with a databricks + s3 stack (the loopback workspace, s3rver): live step
 * statuses, `orch run stop` → runs/cancel, `orch run logs` from each task run's output, `orch pipeline
 * compile`, schedules created, run by the job's scheduler, listed and deleted, and clear errors.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { createArtifactStore, readRunRecord, readStepRecords, type ArtifactStore } from "@orch/core/plugin";
import { DatabricksClient } from "./client.js";
import { createTestProject, registerStack, TOKEN, type TestProject } from "../test/project.js";
import { JOB_SETTINGS_SCHEMA } from "../test/jobs-api-schema.js";

let project: TestProject;
let store: ArtifactStore;
const until = async <T>(check: () => Promise<T> | T, what: string, ms = 60_000): Promise<NonNullable<T>> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

beforeAll(async () => {
  project = await createTestProject("cli");
  await registerStack(project);
  const { s3 } = project;
  store = (await createArtifactStore({ flavor: "s3", config: { path: `s3://${project.bucket}/orch`, endpoint: s3.endpoint, forcePathStyle: true, ...s3.credentials } } as never, project.dir)).store;
}, 120_000);
afterAll(() => project?.close());

describe("orch with a databricks stack", () => {
  it("shows live step statuses, and orch run stop cancels the Databricks run", async () => {
    const gate = join(project.dir, "gate-never-opened");
    const runId = "dbx-stop-1";
    const running = project.start("pipeline", "run", "src/extra.ts#gated", "--stack", "dbx", "--run-id", runId, "--param", `gate=${JSON.stringify(gate)}`);
    // The step is running on "Databricks" (its task run is RUNNING and its journal record says so).
    await until(async () => (await readStepRecords(store, runId)).find((s) => s.stepId === "wait_for_gate" && s.status === "running"), "wait_for_gate to run");
    const shown = JSON.parse((await project.ok("run", "show", runId, "--json")).stdout) as { run: { status: string; url?: string }; steps: { id: string; status: string }[] };
    expect(shown.run.status).toBe("running");
    // Where to look at it in the workspace.
    expect(shown.run.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*\d+$/);
    expect((await project.ok("run", "show", runId)).stdout).toContain(`url: ${shown.run.url}`);
    expect(Object.fromEntries(shown.steps.map((s) => [s.id, s.status]))).toMatchObject({ prepare: "succeeded", wait_for_gate: "running" });
    const stopped = await project.orch("run", "stop", runId);
    expect(stopped.code, stopped.stderr).toBe(0);
    const result = await running.result;
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("prepare");
    expect(result.stdout + result.stderr).toContain("on stack dbx");
    expect((await readRunRecord(store, runId))?.status).toBe("stopped");
    const dbRun = [...project.workspace.runs.values()].find((r) => r.parameters.orch_run_id === runId)!;
    await until(() => dbRun.state.life_cycle_state === "TERMINATED", "the Databricks run to end");
    expect(dbRun.state).toMatchObject({ life_cycle_state: "TERMINATED", result_state: "CANCELED" });
    expect(project.workspace.requests).toContain("POST /api/2.2/jobs/runs/cancel");
    const steps = Object.fromEntries((await readStepRecords(store, runId)).map((s) => [s.stepId, s.status]));
    expect(steps).toMatchObject({ prepare: "succeeded", wait_for_gate: "stopped", after_gate: "stopped" });

    // orch run resume repairs the Databricks run: the steps that did not succeed run again, prepare does not.
    writeFileSync(gate, "");
    const resumed = await project.orch("run", "resume", runId);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout + resumed.stderr).not.toContain("on stack ?");
    expect((await readRunRecord(store, runId))?.status).toBe("succeeded");
    expect(project.workspace.requests).toContain("POST /api/2.2/jobs/runs/repair");
    expect(dbRun.tasks.filter((t) => t.task_key === "prepare")).toHaveLength(1);
    expect(dbRun.tasks.filter((t) => t.task_key === "wait_for_gate").map((t) => t.state.result_state)).toEqual(["CANCELED", "SUCCESS"]);
    expect([...project.workspace.runs.values()].filter((r) => r.parameters.orch_run_id === runId)).toHaveLength(1);
  }, 240_000);

  it("orch run logs prints the task run's own output (runs/get-output of the task run)", async () => {
    const gate = join(project.dir, "gate-open");
    writeFileSync(gate, "");
    const runId = "dbx-logs-1";
    await project.ok("pipeline", "run", "src/extra.ts#gated", "--stack", "dbx", "--run-id", runId, "--param", `gate=${JSON.stringify(gate)}`);
    const logs = await project.ok("run", "logs", runId, "--step", "wait_for_gate");
    expect(logs.stdout).toMatch(/attempt 1: task run \d+ \(TERMINATED\/SUCCESS\)/);
    // console.log of the step function, printed by the task's process.
    expect(logs.stdout).toContain(`waiting for ${gate}`);
    expect(logs.stdout).toContain("step wait_for_gate: succeeded");
    // The same job was reused: its settings did not change, so it was neither created again nor reset.
    expect([...project.workspace.jobs.values()].filter((j) => j.settings.name === "orch-gated")).toHaveLength(1);
    expect(project.workspace.requests.filter((r) => r === "POST /api/2.2/jobs/reset")).toHaveLength(0);
  }, 180_000);

  it("honours max_retries: a task whose process died runs again; a step that failed for good is not run again", async () => {
    const marker = join(project.dir, "crashed-once");
    const counter = join(project.dir, "attempts");
    const runId = "dbx-retries-1";
    const result = await project.orch("pipeline", "run", "src/extra.ts#retrying", "--stack", "dbx", "--run-id", runId, "--param", `marker=${JSON.stringify(marker)}`, "--param", `counter=${JSON.stringify(counter)}`);
    expect(result.code).toBe(1);
    const steps = Object.fromEntries((await readStepRecords(store, runId)).map((s) => [s.stepId, s]));
    expect(steps.crash_once!.status).toBe("succeeded");
    expect(steps.fails_for_good).toMatchObject({ status: "failed", attempts: 2 });
    // The runner's two attempts ran once: Databricks' retry of the task did not run them again.
    expect(readFileSync(counter, "utf8")).toBe("xx");
    const dbRun = [...project.workspace.runs.values()].find((r) => r.parameters.orch_run_id === runId)!;
    const attempts = (key: string) => dbRun.tasks.filter((t) => t.task_key === key).map((t) => t.state.result_state);
    expect(attempts("crash_once")).toEqual(["FAILED", "SUCCESS"]);
    expect(attempts("fails_for_good")).toEqual(["FAILED", "FAILED"]);
    const logs = await project.ok("run", "logs", runId, "--step", "fails_for_good");
    expect(logs.stdout).toContain("attempt 2: task run");
    expect(logs.stdout).toContain("not running it again");
    expect((await readRunRecord(store, runId))?.status).toBe("failed");
  }, 180_000);

  it("orch pipeline compile writes the job settings, the launcher and the snapshot, without credentials", async () => {
    await project.ok("pipeline", "compile", "src/pipeline.ts#irisTraining", "--stack", "dbx", "--out", "out");
    const out = join(project.dir, "out");
    expect(readdirSync(out).sort()).toEqual(["job-settings.json", "orch_launcher.py", "snapshot.json"]);
    const settings = JSON.parse(readFileSync(join(out, "job-settings.json"), "utf8"));
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JOB_SETTINGS_SCHEMA);
    expect(validate(settings), JSON.stringify(validate.errors)).toBe(true);
    expect(settings.tasks.map((t: { task_key: string }) => t.task_key)).toContain("train_model");
    expect(readFileSync(join(out, "job-settings.json"), "utf8")).not.toContain(project.s3.credentials.secretAccessKey + '"');
  }, 120_000);

  it("creates a schedule as a job with a Quartz cron, runs it as the scheduler would, lists and deletes it", async () => {
    const created = await project.ok("pipeline", "run", "src/extra.ts#nightly", "--stack", "dbx");
    expect(created.stdout + created.stderr).toMatch(/schedul/i);
    const job = [...project.workspace.jobs.values()].find((j) => j.settings.name === "orch-nightly-scheduled")!;
    expect(job.settings.schedule).toEqual({ quartz_cron_expression: "0 30 2 ? * 2-6", timezone_id: "Europe/Berlin", pause_status: "UNPAUSED" });
    const [listed] = JSON.parse((await project.ok("schedule", "list", "--json")).stdout) as { id: string; nativeId?: string }[];
    expect(listed).toBeDefined();

    // The job's scheduler starts a run with no orch run id: the start task copies the schedule's snapshot.
    const client = new DatabricksClient({ host: project.workspace.url, token: TOKEN });
    const { run_id } = await client.runNow(job.job_id, {}, "scheduler-tick-1");
    await until(async () => ["TERMINATED", "INTERNAL_ERROR"].includes((await client.getRun(run_id)).state.life_cycle_state), "the scheduled run to end");
    expect((await client.getRun(run_id)).state.result_state).toBe("SUCCESS");
    expect((await readRunRecord(store, `databricks-${run_id}`))?.status).toBe("succeeded");

    const removed = await project.orch("schedule", "delete", listed!.id);
    expect(removed.code, removed.stderr).toBe(0);
    expect(project.workspace.jobs.has(job.job_id)).toBe(false);
    expect(JSON.parse((await project.ok("schedule", "list", "--json")).stdout)).toEqual([]);
  }, 180_000);

  it("says clearly what is missing: no image", async () => {
    await project.ok("orchestrator", "register", "noimage", "--flavor=databricks", `--host=${project.workspace.url}`, `--token=${TOKEN}`);
    await project.ok("stack", "register", "noimage", "-o", "noimage", "-a", "s3store");
    const result = await project.orch("pipeline", "run", "src/extra.ts#gated", "--stack", "noimage", "--param", 'gate="x"');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("needs an image");
    expect(result.stderr).toContain("--image=");
    expect(existsSync(join(project.dir, "x"))).toBe(false);
  }, 120_000);
});
