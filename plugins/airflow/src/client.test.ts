/**
 * The REST client against the loopback Airflow, without running anything: both API versions' auth,
 * pagination with limit/offset, a DAG run that stays queued while its DAG is paused, Airflow's error
 * bodies turned into messages, and the shapes of task log bodies.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseComponentConfig, type Snapshot } from "@orch/core/plugin";
import { pipeline, step } from "@orch/core";
import { compilePipeline } from "@orch/core/host";
import plugin from "./index.js";
import { AirflowApiError, AirflowClient, logLines } from "./client.js";
import { renderDagFile } from "./dag-file.js";
import { startFakeAirflow, type FakeAirflow } from "../test/fake-airflow.js";
import { pythonMissing } from "../test/python.js";

let server: FakeAirflow | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const fixtureRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
const config = (extra: Record<string, unknown>) => parseComponentConfig(plugin, { host: "http://127.0.0.1:1", dagsFolder: "/tmp/dags", image: "i:1", operator: "docker", ...extra }) as any;
const local = { describe: () => ({ flavor: "local", config: { path: "/srv/orch" } }), envNames: [] };

/** A fan-out of 150 tasks: more than one page of task instances. */
function wideSnapshot(): Snapshot {
  const leaf = step({ name: "leaf" }, (i: number) => i);
  const wide = pipeline({ name: "wide" }, () => {
    for (let i = 0; i < 150; i++) leaf(i);
  });
  return compilePipeline(wide, {}, { projectRoot: fixtureRoot }).snapshot;
}

describe.skipIf(pythonMissing)("the Airflow REST client", () => {
  for (const version of [2, 3] as const) {
    it(`Airflow ${version}: pages through task instances, keeps a run queued while its DAG is paused, and reads Airflow's errors`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "orch-airflow-dags-"));
      dirs.push(dir);
      server = await startFakeAirflow({ version, dagsFolder: dir, parseDelayMs: 0 });
      const cfg = config({ host: server.url, airflowVersion: version, username: "admin", password: "admin", dagsFolder: dir });
      const file = renderDagFile(cfg, wideSnapshot(), local);
      writeFileSync(join(dir, file.fileName), file.source);
      await server.settle();
      const client = new AirflowClient(cfg);
      expect(await client.getDag("wide")).toMatchObject({ dag_id: "wide", is_paused: true });
      await client.triggerDagRun("wide", "r1", { a: 1 });
      expect((await client.getDagRun("wide", "r1"))?.state).toBe("queued");
      const instances = await client.taskInstances("wide", "r1");
      expect(instances).toHaveLength(150);
      expect(new Set(instances.map((t) => t.task_id)).size).toBe(150);
      expect(server.requests.filter((r) => r.endsWith("/taskInstances"))).toHaveLength(2);
      expect((await client.listDags("orch")).map((d) => d.dag_id)).toEqual(["wide"]);
      // Unknown things: undefined where the caller asks, else an error carrying Airflow's title and detail.
      expect(await client.getDag("nope")).toBeUndefined();
      expect(await client.getDagRun("wide", "nope")).toBeUndefined();
      const error = await client.failDagRun("nope", "r1").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AirflowApiError);
      expect((error as AirflowApiError).message).toMatch(/stopping DAG run r1 failed with HTTP 404: .*DAG with dag_id: 'nope' not found/);
    });
  }

  it("Airflow 3: asks /auth/token once and sends the bearer token; a given token is used as is", async () => {
    server = await startFakeAirflow({ version: 3 });
    const client = new AirflowClient(config({ host: server.url, airflowVersion: 3, username: "admin", password: "admin" }));
    await client.listDags("orch");
    await client.listDags("orch");
    expect(server.requests.filter((r) => r === "POST /auth/token")).toHaveLength(1);
    const withToken = new AirflowClient(config({ host: server.url, airflowVersion: 3, token: "not-issued" }));
    const error = await withToken.listDags("orch").catch((e: unknown) => e as AirflowApiError);
    expect(error).toMatchObject({ code: "E_CONFIG_INVALID", status: 401 });
  });

  it("Airflow 2: the wrong API version is a 404 that says to check airflowVersion", async () => {
    server = await startFakeAirflow({ version: 2 });
    const client = new AirflowClient(config({ host: server.url, airflowVersion: 3, username: "admin", password: "admin", token: "t" }));
    const error = (await client.listDags("orch").catch((e: unknown) => e)) as AirflowApiError;
    expect(error.status).toBe(404);
    expect(error.hint).toContain("airflowVersion");
  });
});

describe("task log bodies", () => {
  it("reads Airflow 2's text, its [host, text] pairs and Airflow 3's structured lines", () => {
    expect(logLines("a\nb\n")).toEqual(["a", "b"]);
    expect(logLines([["worker-1", "a\nb"]])).toEqual(["a", "b"]);
    expect(logLines([{ timestamp: "t", event: "a" }, { event: "b" }])).toEqual(["a", "b"]);
    expect(logLines(undefined)).toEqual([]);
  });
});
