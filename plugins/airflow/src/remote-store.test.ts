/**
 * MWAA's layout on the loopback servers: the DAGs folder is an s3:// bucket (written through the s3
 * store plugin; the loopback Airflow syncs DAG files from it, as MWAA does), the artifact store is
 * another bucket, and its credentials reach the tasks from a Kubernetes Secret — never the DAG file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineStack } from "@orch/core";
import { createArtifactStore, readRunRecord, type ArtifactStore } from "@orch/core/plugin";
import s3Plugin from "@orch/plugin-s3";
import { airflow } from "./index.js";
import { createHarness, type Harness } from "../test/harness.js";
import { pythonMissing } from "../test/python.js";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";
import { dagStep, mapped } from "../test/fixtures/project/src/pipeline.js";

const fixtureRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
// s3rver checks the key id only: a secret access key of our own shows whether it leaks into the DAG file.
const SECRET_KEY = "never-in-the-dag-file-8f3a";
let s3: S3rverHandle;
let h: Harness;
let dagsBucket: ArtifactStore;

beforeAll(async () => {
  s3 = await startS3rver(["orch-artifacts", "mwaa-dags"]);
  const creds = { endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: s3.credentials.accessKeyId, secretAccessKey: SECRET_KEY };
  dagsBucket = (await createArtifactStore({ flavor: "s3", plugin: s3Plugin as any, config: { path: "s3://mwaa-dags", ...creds } }, fixtureRoot)).store;
  h = await createHarness({
    version: 3,
    projectRoot: fixtureRoot,
    // MWAA syncs the bucket's DAG files to its workers.
    readDags: async () =>
      Promise.all((await dagsBucket.list("dags/")).filter((k) => k.endsWith(".py")).map(async (key) => ({ name: key.slice("dags/".length), source: Buffer.from((await dagsBucket.read(key))!).toString("utf8") }))),
    secrets: { "orch-store": { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: SECRET_KEY } },
    config: { dagsFolder: "s3://mwaa-dags/dags", dagsFolderOptions: creds, credentialsSecret: "orch-store", artifactStoreVolume: undefined },
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await s3?.stop();
});

describe.skipIf(pythonMissing)("airflow with s3 buckets (MWAA)", () => {
  it("places the DAG file in the DAGs bucket, runs against the s3 artifact store, and keeps the secret key out of the file", async () => {
    const storeConfig = { path: "s3://orch-artifacts/orch", endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: s3.credentials.accessKeyId, secretAccessKey: SECRET_KEY };
    const stack = defineStack({ name: "mwaa", orchestrator: airflow(h.config), artifactStore: { flavor: "s3", config: storeConfig } });
    const result = await mapped.run({ stack, projectRoot: fixtureRoot, params: { n: 4 }, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(await result.load(dagStep)).toBe(2.5); // (1+2+3+4) / 4
    const file = Buffer.from((await dagsBucket.read("dags/mapped.py"))!).toString("utf8");
    expect(file).toContain('secret_ref=k8s.V1SecretEnvSource(name="orch-store")');
    expect(file).toContain("s3://orch-artifacts/orch");
    expect(file).not.toContain(SECRET_KEY);
    const store = (await createArtifactStore({ flavor: "s3", plugin: s3Plugin as any, config: storeConfig }, fixtureRoot)).store;
    expect((await readRunRecord(store, result.runId))?.status).toBe("succeeded");
  }, 120_000);

  it("refuses an s3 store with keys when no Secret carries them", async () => {
    const storeConfig = { path: "s3://orch-artifacts/refused", endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: s3.credentials.accessKeyId, secretAccessKey: SECRET_KEY };
    const stack = defineStack({ name: "mwaa", orchestrator: airflow({ ...h.config, credentialsSecret: undefined }), artifactStore: { flavor: "s3", config: storeConfig } });
    await expect(mapped.run({ stack, projectRoot: fixtureRoot, params: { n: 1 }, handleSignals: false })).rejects.toThrow(/would have to be written into the DAG file/);
  });
});
