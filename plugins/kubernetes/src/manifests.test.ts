import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { type Snapshot } from "@orch/core";
import { createLocalArtifactStore, parseComponentConfig } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import plugin, { configSchema } from "./index.js";
import { cronJob, cronJobName, cronJobSchedule, dnsFragment, labelValue, resourceRequirements, stepJob, stepJobName, type K8sObject } from "./manifests.js";
import { createOrchestrator } from "./runtime.js";
import { assertValidManifest, manifestProblems } from "./validate.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";

const projectRoot = fileURLToPath(new URL("../test/fixtures/project/", import.meta.url));
const config = (extra: Record<string, unknown> = {}) => parseComponentConfig(plugin, { image: "registry.example.com/quickstart:1", kubernetesNamespace: "ml", ...extra });
const snapshot = (): Snapshot => compilePipeline(quickstart, { rows: 20 }, { projectRoot }).snapshot;
const runtime = (extra: Record<string, unknown> = {}) =>
  createOrchestrator(config(extra), { projectRoot, stackName: "k8s", artifactStore: createLocalArtifactStore(join(projectRoot, ".orch-never-written")) });

describe("compile", () => {
  it("writes an orchestrator Job, one Job per step, the config Secret and the snapshot, all valid against the Kubernetes schema", async () => {
    const files = await runtime().compile!(snapshot());
    expect(Object.keys(files).sort()).toEqual(["config-secret.yaml", "orchestrator-job.yaml", "snapshot.json", "step-jobs.yaml"]);
    const steps = parseAllDocuments(files["step-jobs.yaml"]!).map((d) => d.toJSON() as K8sObject);
    expect(steps.map((s) => s.metadata.annotations!["orch.dev/step-id"])).toEqual(["load_data", "train", "evaluate"]);
    for (const object of [...steps, parse(files["orchestrator-job.yaml"]!) as K8sObject, parse(files["config-secret.yaml"]!) as K8sObject]) expect(manifestProblems(object)).toEqual([]);
    const orchestrator = parse(files["orchestrator-job.yaml"]!) as any;
    const container = orchestrator.spec.template.spec.containers[0];
    expect(container.command.slice(0, 2)).toEqual(["orch-entrypoint", "orchestrate"]);
    expect(container.command).toContain("--resume");
    expect(container.command).toContain("--stack");
    // The component config reaches the pod through the Secret, not its args.
    expect(container.command).not.toContain("--orchestrator");
    const secret = parse(files["config-secret.yaml"]!) as any;
    expect(container.env).toContainEqual({ name: "ORCH_ORCHESTRATOR", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "orchestrator" } } });
    expect(JSON.parse(secret.stringData.orchestrator)).toMatchObject({ flavor: "kubernetes", config: { inCluster: true, kubernetesNamespace: "ml", configSecret: secret.metadata.name } });
  });

  it("keeps secrets out of args, annotations and env values: the config's env comes from the Secret", async () => {
    const token = "s3cr3t-token-value";
    const cfg = { podSettings: { env: { API_TOKEN: token } }, orchestratorPodSettings: { env: { ORCH_TOKEN: token } } };
    const withSecrets = { ...snapshot(), pipeline: { ...snapshot().pipeline, schedule: { cron: "0 2 * * *", catchup: false, allowOverlap: false } } };
    const files = await runtime(cfg).compile!(withSecrets);
    const objects = ["orchestrator-job.yaml", "step-jobs.yaml", "cronjob.yaml"].flatMap((file) => parseAllDocuments(files[file]!).map((d) => d.toJSON() as any)).filter((o) => o.kind !== "Secret");
    expect(objects.length).toBeGreaterThan(4);
    for (const object of objects) expect(JSON.stringify(object)).not.toContain(token);
    const train = objects.find((o) => o.metadata.annotations?.["orch.dev/step-id"] === "train");
    expect(train.spec.template.spec.containers[0].env).toContainEqual({ name: "API_TOKEN", valueFrom: { secretKeyRef: { name: expect.stringMatching(/-config$/), key: "pod-env.API_TOKEN" } } });
    const secret = parse(files["config-secret.yaml"]!) as any;
    expect(parse(files["cronjob-config-secret.yaml"]!).stringData["pod-env.API_TOKEN"]).toBe(token);
    expect(secret.stringData["pod-env.API_TOKEN"]).toBe(token);
    expect(secret.stringData["orchestrator-env.ORCH_TOKEN"]).toBe(token);
    // A step's own env (its code, in the snapshot) stays a plain value and wins over the config's.
    const own = { ...snapshot() };
    own.steps = { ...own.steps, train: { ...own.steps.train!, settings: { ...own.steps.train!.settings, flavors: { kubernetes: { env: { API_TOKEN: "from-step" } } } } } };
    const trainJob = stepJob({ config: config(cfg), snapshot: own, podStore: { flavor: "local", config: { path: "/orch" } } }, "r1", own.steps.train!) as any;
    expect(trainJob.spec.template.spec.containers[0].env).toContainEqual({ name: "API_TOKEN", value: "from-step" });
  });

  it("adds a CronJob when the pipeline has a schedule", async () => {
    const scheduled = { ...snapshot(), pipeline: { ...snapshot().pipeline, schedule: { cron: "30 2 * * 7", catchup: false, allowOverlap: false, timezone: "Europe/Berlin" } } };
    const files = await runtime().compile!(scheduled);
    const cron = parse(files["cronjob.yaml"]!) as any;
    expect(manifestProblems(cron)).toEqual([]);
    expect(cron.spec).toMatchObject({ schedule: "30 2 * * 0", timeZone: "Europe/Berlin", concurrencyPolicy: "Forbid" });
    expect(cron.metadata.name.length).toBeLessThanOrEqual(52);
  });

  it("maps resources to exact requests and limits and GPUs to nvidia.com/gpu", () => {
    expect(resourceRequirements({ cpuCount: 2, memory: "8GB", gpuCount: 1 })).toEqual({
      requests: { cpu: "2", memory: "8G" },
      limits: { cpu: "2", memory: "8G", "nvidia.com/gpu": "1" },
    });
    expect(resourceRequirements({ memory: "8GiB", cpuCount: 0.5 })).toEqual({ requests: { cpu: "500m", memory: "8Gi" }, limits: { cpu: "500m", memory: "8Gi" } });
    const train = stepJob({ config: config(), snapshot: snapshot(), podStore: { flavor: "local", config: { path: "/orch" } } }, "r1", snapshot().steps.train!) as any;
    expect(train.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: "500m", memory: "256Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
  });

  it("maps retries to backoffLimit with a pod failure policy and the timeout to activeDeadlineSeconds", () => {
    const train = stepJob({ config: config(), snapshot: snapshot(), podStore: { flavor: "local", config: { path: "/orch" } } }, "r1", snapshot().steps.train!) as any;
    expect(train.spec.backoffLimit).toBe(1);
    expect(train.spec.podFailurePolicy.rules.find((r: any) => r.action === "FailJob")).toMatchObject({ action: "FailJob", onExitCodes: { operator: "In", values: [1, 2, 130] } });
    // two attempts of 120 s, no delay, plus the start-up grace
    expect(train.spec.activeDeadlineSeconds).toBe(2 * 120 + 120);
  });

  it("merges step settings over the config's pod settings and mounts the artifact store volume", () => {
    const cfg = config({ podSettings: { nodeSelector: { disk: "ssd" }, tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }] }, artifactStoreVolume: { claimName: "orch-artifacts", mountPath: "/orch" } });
    const job = stepJob({ config: cfg, snapshot: snapshot(), podStore: { flavor: "local", config: { path: "/orch" } } }, "r1", snapshot().steps.evaluate!) as any;
    const spec = job.spec.template.spec;
    expect(spec.nodeSelector).toEqual({ disk: "ssd", pool: "cpu" });
    expect(spec.tolerations).toHaveLength(1);
    expect(spec.volumes).toEqual([{ name: "orch-artifacts", persistentVolumeClaim: { claimName: "orch-artifacts" } }]);
    expect(spec.containers[0].volumeMounts).toEqual([{ name: "orch-artifacts", mountPath: "/orch" }]);
    expect(manifestProblems(job)).toEqual([]);
  });

  it("rejects unknown fields that the client would silently drop, naming the path", async () => {
    const typo = runtime({ podSettings: { tolerations: [{ key: "gpu", operator: "Exists", efect: "NoSchedule" }] } });
    await expect(typo.compile!(snapshot())).rejects.toThrow(/tolerations\[0\]\.efect: unknown field "efect".*did you mean "effect"/s);
    const wrongType = runtime({ podSettings: { securityContext: { runAsUser: "root" } } });
    await expect(wrongType.compile!(snapshot())).rejects.toThrow(/runAsUser must be integer/);
  });

  it("keeps names DNS-1123 and within limits, labels valid, and distinct inputs distinct", () => {
    const long = "A_very_long_step_name_that_goes_on_and_on_and_on_for_quite_a_while";
    const name = stepJobName("orch", "20261122-030015-123-k3f9x2", long);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(stepJobName("orch", "r", "a_b")).not.toBe(stepJobName("orch", "r", "a-b"));
    expect(labelValue("_private_step")).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
    expect(dnsFragment("__X__", 10)).toBe("x");
    const cron = cronJobName("orch", long.repeat(2), { cron: "0 2 * * *", catchup: false, allowOverlap: false });
    expect(cron.length).toBeLessThanOrEqual(52);
    expect(manifestProblems({ apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "x".repeat(53) }, spec: { schedule: "* * * * *", jobTemplate: { spec: { template: { spec: { containers: [] } } } } } })).toContain(
      `metadata.name: "${"x".repeat(53)}" is longer than 52 characters`,
    );
    expect(() => assertValidManifest({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "Bad_Name" } })).toThrow(/DNS-1123/);
  });
});

describe("schedules", () => {
  const base = { catchup: false, allowOverlap: false } as const;
  it("converts cron to the CronJob dialect with a time zone, UTC by default", () => {
    expect(cronJobSchedule({ ...base, cron: "@daily" })).toBe("0 0 * * *");
    expect(cronJobSchedule({ ...base, cron: "0 2 * * 1-5" })).toBe("0 2 * * 1-5");
    const job = cronJob({ config: config(), snapshot: snapshot(), podStore: { flavor: "local", config: { path: "/orch" } } }, { ...base, cron: "0 2 * * *" }) as any;
    expect(job.spec.timeZone).toBe("UTC");
    expect(job.spec.jobTemplate.spec.template.spec.containers[0].command[0]).toBe("orch-kubernetes-scheduled-run");
  });

  it.each([
    ["@daily", "0 0 * * *"],
    ["@weekly", "0 0 * * 0"],
    ["*/10 8-18/2 * * MON-FRI", "*/10 8-18/2 * * MON-FRI"],
    ["0 3 * * 7", "0 3 * * 0"],
    ["0 3 1-7 * SUN", "0 3 1-7 * SUN"],
  ])("writes cron %j as the CronJob schedule %j, through core's converter", (expr, expected) => {
    const job = cronJob({ config: config(), snapshot: snapshot(), podStore: { flavor: "local", config: { path: "/orch" } } }, { ...base, cron: expr }) as any;
    expect(job.spec.schedule).toBe(expected);
    expect(manifestProblems(job)).toEqual([]);
  });

  it("puts the timezone in spec.timeZone and never into the schedule string", () => {
    const job = cronJob({ config: config(), snapshot: snapshot(), podStore: { flavor: "local", config: { path: "/orch" } } }, { ...base, cron: "30 1 * * *", timezone: "America/New_York" }) as any;
    expect(job.spec).toMatchObject({ schedule: "30 1 * * *", timeZone: "America/New_York" });
    expect(job.spec.schedule).not.toMatch(/TZ=/);
  });

  it("refuses a 6-field cron with seconds (E_SCHEDULE_INVALID, naming the field count) rather than dropping a field", () => {
    expect(() => cronJobSchedule({ ...base, cron: "0 0 2 * * *" })).toThrow(
      expect.objectContaining({ code: "E_SCHEDULE_INVALID", message: expect.stringContaining("expected 5 fields"), hint: expect.stringContaining("Seconds") }),
    );
  });

  it("converts intervals a CronJob can express and refuses the rest with the reason", () => {
    expect(cronJobSchedule({ ...base, intervalSeconds: 900 })).toBe("*/15 * * * *");
    expect(cronJobSchedule({ ...base, intervalSeconds: 6 * 3600 })).toBe("0 */6 * * *");
    expect(() => cronJobSchedule({ ...base, intervalSeconds: 45 })).toThrow(expect.objectContaining({ code: "E_CRON_UNSUPPORTED" }));
    expect(() => cronJobSchedule({ ...base, intervalSeconds: 7 * 60 })).toThrow(/^A Kubernetes CronJob cannot repeat intervalSeconds: 420 evenly: .*dividing an hour/);
    expect(() => cronJobSchedule({ ...base, intervalSeconds: 2 * 86_400 })).toThrow(expect.objectContaining({ code: "E_CRON_UNSUPPORTED" }));
  });

  it("refuses runOnceAt, startTime/endTime and catchup", () => {
    const refused = expect.objectContaining({ code: "E_CAPABILITY_UNSUPPORTED" });
    expect(() => cronJobSchedule({ ...base, runOnceAt: "2030-01-01T00:00:00.000Z" })).toThrow(refused);
    expect(() => cronJobSchedule({ ...base, cron: "0 2 * * *", startTime: "2030-01-01T00:00:00.000Z" })).toThrow(/startTime\/endTime/);
    expect(() => cronJobSchedule({ ...base, cron: "0 2 * * *", catchup: true })).toThrow(/catchup/);
  });
});

describe("config", () => {
  it("is strict and names the bad key", () => {
    expect(() => parseComponentConfig(plugin, { namespce: "ml" })).toThrow(/namespce/);
    expect(() => parseComponentConfig(plugin, { kubernetesNamespace: "ML_Team" })).toThrow(/DNS-1123/);
    expect(configSchema.parse({}).kubernetesNamespace).toBe("default");
  });

  it("builds the image through @orch/docker only with a container registry to push to", async () => {
    const building = createOrchestrator(parseComponentConfig(plugin, { build: {} }), { projectRoot, stackName: "k8s", artifactStore: createLocalArtifactStore(join(projectRoot, ".x")) });
    const files = await building.compile!(snapshot());
    expect(files["orchestrator-job.yaml"]).toContain("image: orch-project-image:built-at-submit");
    await expect(building.submit(snapshot(), { runId: "r1", signal: new AbortController().signal })).rejects.toMatchObject({ code: "E_CONFIG_INVALID", key: "build" });
  });

  it("refuses to build pods without an image, saying how to set one", async () => {
    const noImage = createOrchestrator(parseComponentConfig(plugin, {}), { projectRoot, stackName: "k8s", artifactStore: createLocalArtifactStore(join(projectRoot, ".x")) });
    await expect(noImage.compile!(snapshot())).rejects.toThrow(/needs an image/);
  });
});

describe("a remote store's credentials", () => {
  // A remote store: its describe() has no secret; env() has the credentials (azure: a connection string with "=" and ";").
  const connection = "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=c2VjcmV0LWtleQ==;";
  const remote = {
    ...createLocalArtifactStore(join(projectRoot, ".orch-never-written")),
    flavor: "azure",
    uri: "az://runs/orch",
    describe: () => ({ flavor: "azure", config: { path: "az://runs/orch" } }),
    env: () => ({ AZURE_STORAGE_CONNECTION_STRING: connection }),
  };
  const remoteRuntime = (extra: Record<string, unknown> = {}) => createOrchestrator(config(extra), { projectRoot, stackName: "k8s", artifactStore: remote });

  it("go to the Secret as store-env.NAME and to every pod through secretKeyRef; the orchestrator pod learns only the names", async () => {
    const files = await remoteRuntime({ artifactStoreVolume: { claimName: "orch-artifacts", mountPath: "/orch" } }).compile!(snapshot());
    const secret = parse(files["config-secret.yaml"]!) as any;
    expect(secret.stringData["store-env.AZURE_STORAGE_CONNECTION_STRING"]).toBe(connection);
    expect(JSON.parse(secret.stringData["artifact-store"])).toEqual({ flavor: "azure", config: { path: "az://runs/orch" } });
    const inPod = JSON.parse(secret.stringData.orchestrator).config;
    expect(inPod.storeEnv).toEqual(["AZURE_STORAGE_CONNECTION_STRING"]);
    expect(JSON.stringify(inPod)).not.toContain("AccountKey");
    const jobs = [parse(files["orchestrator-job.yaml"]!), ...parseAllDocuments(files["step-jobs.yaml"]!).map((d) => d.toJSON())] as any[];
    for (const job of jobs) {
      expect(JSON.stringify(job)).not.toContain("AccountKey");
      expect(job.spec.template.spec.volumes).toBeUndefined();
      expect(job.spec.template.spec.containers[0].env).toContainEqual({ name: "AZURE_STORAGE_CONNECTION_STRING", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "store-env.AZURE_STORAGE_CONNECTION_STRING" } } });
    }
    // In the orchestrator pod (config from the Secret, store opened without the credentials): the step Jobs it makes read the same keys.
    const podRuntime = createOrchestrator(parseComponentConfig(plugin, inPod), { projectRoot, stackName: "in-cluster", artifactStore: { ...remote, env: () => ({}) } });
    const step = parseAllDocuments((await podRuntime.compile!(snapshot()))["step-jobs.yaml"]!)[0]!.toJSON() as any;
    expect(step.spec.template.spec.containers[0].env).toContainEqual({ name: "AZURE_STORAGE_CONNECTION_STRING", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "store-env.AZURE_STORAGE_CONNECTION_STRING" } } });
  });

  it("a local store keeps its volume and passes no store-env keys", async () => {
    const files = await runtime({ artifactStoreVolume: { claimName: "orch-artifacts", mountPath: "/orch" } }).compile!(snapshot());
    const secret = parse(files["config-secret.yaml"]!) as any;
    expect(Object.keys(secret.stringData).filter((k) => k.startsWith("store-env."))).toEqual([]);
    const orchestrator = parse(files["orchestrator-job.yaml"]!) as any;
    expect(orchestrator.spec.template.spec.volumes).toEqual([{ name: "orch-artifacts", persistentVolumeClaim: { claimName: "orch-artifacts" } }]);
  });
});
