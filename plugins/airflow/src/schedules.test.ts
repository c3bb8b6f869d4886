/**
 * Schedules are the DAG's own `schedule`: schedule() places a `<pipeline>_scheduled` DAG file and
 * unpauses it; when Airflow's scheduler starts a DAG run (named by Airflow), its tasks store the
 * schedule's snapshot under the derived orch run id, run the steps and record the run's end; list shows
 * the unpaused scheduled DAGs, delete pauses the DAG, removes its file and deletes it from Airflow.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { readRunRecord, readStepRecord } from "@orch/core/plugin";
import { orchRunId } from "./scheduled-runs.js";
import { createHarness, node, scheduledStepBin, until, type Harness } from "../test/harness.js";
import { pythonMissing } from "../test/python.js";
import { mapped } from "../test/fixtures/project/src/pipeline.js";

const fixtureRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("orch run ids of Airflow's DAG runs", () => {
  it("keeps orch's own ids and derives valid, stable ids from Airflow's", () => {
    expect(orchRunId("run-20261130-abc")).toBe("run-20261130-abc");
    expect(orchRunId("scheduled__2026-11-30T02:30:00+00:00")).toBe("scheduled__2026-11-30T02-30-00-00-00");
    const long = `manual__${"x".repeat(80)}:00`;
    expect(orchRunId(long)).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/);
    expect(orchRunId(long)).toBe(orchRunId(long));
    expect(orchRunId(`${long}1`)).not.toBe(orchRunId(long));
  });
});

describe("orch-airflow-scheduled-step", () => {
  const bin = (args: string[], env: Record<string, string> = {}) => spawnSync(node[0]!, [...node.slice(1), scheduledStepBin, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  it("prints its usage (exit 2) without its arguments, and says which schedule has no stored snapshot (exit 1)", () => {
    const usage = bin(["--step", "prepare"]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("Usage: orch-airflow-scheduled-step");
    const dir = mkdtempSync(join(tmpdir(), "orch-airflow-bin-"));
    try {
      const missing = bin(["--dag-id", "gone_scheduled", "--airflow-run-id", "scheduled__2026-11-30T02:30:00+00:00", "--step", "prepare", "--project-root", fixtureRoot, "--", "orch-entrypoint"], {
        ORCH_ARTIFACT_STORE: JSON.stringify({ flavor: "local", config: { path: dir } }),
      });
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain("Schedule gone_scheduled has no snapshot in the artifact store");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(pythonMissing)("schedules on airflow", () => {
  for (const version of [3, 2] as const) {
    it(`Airflow ${version}: a scheduled DAG run executes the pipeline with its own orch run; list and delete manage the DAG`, async () => {
      h = await createHarness({ version, projectRoot: fixtureRoot, });
      const runtime = h.runtime();
      const { snapshot } = compilePipeline(mapped, { n: 4 }, { projectRoot: fixtureRoot });
      const { id } = await runtime.schedule!(snapshot, { cron: "30 2 * * *", catchup: false, allowOverlap: false });
      expect(id).toBe("mapped_scheduled");
      expect(h.server.dags.get(id)).toMatchObject({ is_paused: false });
      expect(h.server.dags.get(id)!.dump.kwargs.schedule).toBe("30 2 * * *");
      expect(await runtime.listSchedules!()).toEqual([{ id, pipeline: "mapped", schedule: expect.stringContaining('cron "30 2 * * *"') }]);

      const dagRunId = h.server.triggerScheduled(id);
      const server = h.server;
      await until(() => ["success", "failed"].includes(server.runs.get(`${id}/${dagRunId}`)!.state), "the scheduled DAG run to end", 90_000);
      expect(server.runs.get(`${id}/${dagRunId}`)!.state).toBe("success");
      const runId = orchRunId(dagRunId);
      expect((await readRunRecord(h.store, runId))?.status).toBe("succeeded");
      expect((await readStepRecord(h.store, runId, "dag"))?.status).toBe("succeeded");
      // status, logs and stop find the DAG run behind a scheduled orch run.
      expect(await runtime.status!(runId)).toBe("succeeded");
      const lines: string[] = [];
      for await (const line of runtime.logs!(runId, "prepare")) lines.push(line);
      expect(lines.join("\n")).toContain(`scheduled run ${runId} of mapped (DAG run ${dagRunId}): step prepare`);

      await runtime.deleteSchedule!(id);
      expect(existsSync(join(h.dagsFolder, `${id}.py`))).toBe(false);
      expect(h.server.dags.has(id)).toBe(false);
      expect(await runtime.listSchedules!()).toEqual([]);
    }, 120_000);
  }
});
