/**
 * kubernetes + a remote artifact store (s3 on s3rver, 127.0.0.1): no volume in any pod, the store's
 * credentials travel in the run's config Secret and reach the orchestrator pod and every step pod through
 * `secretKeyRef`; with workload identity (no credentials in the store config) nothing is passed and the
 * pods use what the platform gives them. The journal and artifacts are checked in the bucket with the
 * plain AWS SDK.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ListObjectsV2Command, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parseComponentConfig, readRunRecord, readStepRecords, type ArtifactStore } from "@orch/core/plugin";
import { compilePipeline, newRunId } from "@orch/core/host";
import s3Plugin from "@orch/plugin-s3";
import plugin from "./index.js";
import { createOrchestrator } from "./runtime.js";
import { scheduledRunId } from "./manifests.js";
import { createHarness, projectRoot, until, type Harness } from "../test/harness.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";

const BUCKET = "orch-k8s";
let server: S3rverHandle;
let sdk: S3Client;
let h: Harness | undefined;
const stores: ArtifactStore[] = [];

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  sdk = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...server.credentials } });
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(async () => {
  sdk?.destroy();
  await server?.stop();
});

async function openS3(prefix: string, withKeys: boolean): Promise<ArtifactStore> {
  const config = parseComponentConfig(s3Plugin, { path: `s3://${BUCKET}/${prefix}`, endpoint: server.endpoint, forcePathStyle: true, ...(withKeys ? server.credentials : {}) });
  const store = await s3Plugin.create(config, { projectRoot });
  stores.push(store);
  return store;
}

async function bucketKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/`, ContinuationToken }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)));
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  return keys.sort();
}
const bucketJson = async (key: string) => JSON.parse(await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString());

/** Every container of every Job and pod the API server saw. */
function containers(harness: Harness): { owner: string; container: any; annotations: Record<string, string> }[] {
  return [...harness.server.list("jobs"), ...harness.server.list("pods")].flatMap((object: any) => {
    const pod = object.kind === "Job" || object.spec?.template ? object.spec.template : object;
    return (pod.spec.containers as any[]).map((container) => ({ owner: `${object.kind ?? "Pod"} ${object.metadata.name}`, container, annotations: { ...object.metadata.annotations, ...pod.metadata?.annotations } }));
  });
}

async function runQuickstart(harness: Harness, store: ArtifactStore) {
  const runtime = createOrchestrator(parseComponentConfig(plugin, harness.config), { projectRoot, stackName: "k8s", artifactStore: store });
  const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
  const runId = newRunId();
  try {
    const result = await (await runtime.submit(snapshot, { runId, signal: new AbortController().signal })).wait();
    return { runId, result, runtime };
  } finally {
    await runtime.dispose?.();
  }
}

describe("kubernetes with the s3 store", () => {
  it("runs with no volume; the credentials reach every pod only through the Secret", async () => {
    // Even with a volume configured: it holds a local store, which this stack does not use.
    h = await createHarness({ config: { artifactStoreVolume: { claimName: "orch-artifacts", mountPath: "/orch" } } });
    const store = await openS3("keys", true);
    const { runId, result } = await runQuickstart(h, store);
    expect(result.run.status, JSON.stringify(result.run.error)).toBe("succeeded");

    // The journal and the artifacts are in the bucket.
    const keys = await bucketKeys("keys");
    const run = `runs/${runId}`;
    expect(keys).toEqual(expect.arrayContaining([`${run}/snapshot.json`, `${run}/run.json`, `${run}/steps/load_data.json`, `${run}/steps/train.json`, `${run}/logs/load_data.log`]));
    expect(await bucketJson(`keys/${run}/run.json`)).toMatchObject({ status: "succeeded", orchestrator: "kubernetes" });
    const artifacts: string[] = [];
    for (const stepId of Object.keys(compilePipeline(quickstart, { rows: 5 }, { projectRoot }).snapshot.steps)) {
      const record = await bucketJson(`keys/${run}/steps/${stepId}.json`);
      expect(record).toMatchObject({ status: "succeeded" });
      artifacts.push(...Object.values(record.outputs as Record<string, { artifactId: string }>).map((o) => o.artifactId));
    }
    expect(artifacts.length).toBeGreaterThan(0);
    expect(keys).toEqual(expect.arrayContaining(artifacts.map((id) => `artifacts/${id}`)));

    // No volume anywhere, and the secret only through secretKeyRef.
    const seen = containers(h);
    const stepCount = Object.keys(compilePipeline(quickstart, { rows: 5 }, { projectRoot }).snapshot.steps).length;
    expect(h.server.list("jobs", "orch.dev/component=step")).toHaveLength(stepCount);
    expect(seen.filter((s) => s.owner.startsWith("Pod ")).length).toBeGreaterThanOrEqual(stepCount + 1);
    for (const object of [...h.server.list("jobs"), ...h.server.list("pods")]) {
      expect(JSON.stringify(object)).not.toContain("persistentVolumeClaim");
      expect(JSON.stringify(object)).not.toContain(server.credentials.secretAccessKey);
    }
    const [secret] = h.server.list("secrets");
    const secretName = secret!.metadata.name;
    expect(Buffer.from(secret!.data["store-env.AWS_SECRET_ACCESS_KEY"], "base64").toString()).toBe(server.credentials.secretAccessKey);
    expect(JSON.parse(Buffer.from(secret!.data["artifact-store"], "base64").toString())).not.toHaveProperty("config.secretAccessKey");
    for (const { owner, container, annotations } of seen) {
      expect(container.volumeMounts, owner).toBeUndefined();
      expect(JSON.stringify([container.command, container.args, annotations]), owner).not.toContain(server.credentials.secretAccessKey);
      for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
        expect(container.env, owner).toContainEqual({ name, valueFrom: { secretKeyRef: { name: secretName, key: `store-env.${name}` } } });
      }
    }
  });

  it("passes nothing with workload identity: the pods use the credentials the platform gives them", async () => {
    // What IRSA / GKE workload identity does: the platform puts credentials into every pod; the store
    // config has none, so the Secret holds none and the pods get no store variables from it.
    h = await createHarness({ podEnv: { AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey } });
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
    try {
      const store = await openS3("identity", false);
      const { runId, result } = await runQuickstart(h, store);
      expect(result.run.status, JSON.stringify(result.run.error)).toBe("succeeded");
      expect(await bucketJson(`identity/runs/${runId}/run.json`)).toMatchObject({ status: "succeeded" });
      const [secret] = h.server.list("secrets");
      expect(Object.keys(secret!.data).filter((k) => k.startsWith("store-env."))).toEqual([]);
      for (const { owner, container } of containers(h)) expect(JSON.stringify(container.env), owner).not.toContain("AWS_");
    } finally {
      for (const [name, value] of [["AWS_ACCESS_KEY_ID", saved.id], ["AWS_SECRET_ACCESS_KEY", saved.key]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("runs a CronJob's runs with the credentials from the schedule's Secret", async () => {
    h = await createHarness();
    const store = await openS3("scheduled", true);
    const runtime = createOrchestrator(parseComponentConfig(plugin, h.config), { projectRoot, stackName: "k8s", artifactStore: store });
    try {
      const { snapshot } = compilePipeline(quickstart, { rows: 4 }, { projectRoot });
      const { id } = await runtime.schedule!(snapshot, { cron: "0 2 * * *", catchup: false, allowOverlap: false });
      const [secret] = h.server.list("secrets");
      expect(secret!.metadata.name).toBe(`${id}-config`);
      expect(Object.keys(secret!.data).filter((k) => k.startsWith("store-env.")).sort()).toEqual(["store-env.AWS_ACCESS_KEY_ID", "store-env.AWS_SECRET_ACCESS_KEY"]);
      const job = h.server.triggerCronJob("default", id, new Date("2030-01-07T01:00:00Z"));
      const runId = scheduledRunId(job.metadata.name);
      await until(async () => (await readRunRecord(store, runId))?.status === "succeeded", "the scheduled run", 60_000);
      expect((await readStepRecords(store, runId)).map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
      expect(await bucketJson(`scheduled/runs/${runId}/run.json`)).toMatchObject({ status: "succeeded" });
      // The step Jobs the scheduled orchestrator pod created read the same keys of the schedule's Secret.
      const stepJobs = h.server.list("jobs", `orch.dev/run-id=${runId},orch.dev/component=step`);
      expect(stepJobs).toHaveLength(3);
      for (const stepJob of stepJobs) {
        expect(stepJob.spec.template.spec.containers[0].env).toContainEqual({ name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: secret!.metadata.name, key: "store-env.AWS_SECRET_ACCESS_KEY" } } });
        expect(JSON.stringify(stepJob)).not.toContain(server.credentials.secretAccessKey);
      }
      await runtime.deleteSchedule!(id);
    } finally {
      await runtime.dispose?.();
    }
  });
});
