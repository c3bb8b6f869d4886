/**
 * The vertex plugin against loopback servers: the fake Vertex AI API (which executes the submitted IR
 * with @orch/kfp/testing's executor, each task as a local process) and the gcs plugin's fake Cloud
 * Storage server (the artifact store every task reads and writes). The plugin calls Vertex with a
 * service-account key made here, whose self-signed JWTs the fake server verifies: nothing reaches Google.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineStack, type StackDefinition } from "@orch/core";
import { createArtifactStore, parseComponentConfig, type ArtifactStore, type Orchestrator } from "@orch/core/plugin";
import { gcs } from "@orch/plugin-gcs";
import plugin, { vertex, type VertexOrchestratorConfigInput } from "../src/index.js";
import { createOrchestrator } from "../src/runtime.js";
import { startFakeGcs, type FakeGcs } from "../../gcs/test/fake-gcs-server.js";
import { startFakeVertex, type FakeVertex, type FakeVertexOptions } from "./fake-vertex-server.js";

export const fixtureRoot = fileURLToPath(new URL("./fixtures/project/", import.meta.url)).replace(/\/$/, "");
const coreBin = fileURLToPath(new URL("../../../packages/core/src/entrypoint/bin.ts", import.meta.url));
const runBin = fileURLToPath(new URL("../src/bin/vertex-run.ts", import.meta.url));
/** How the test "image" runs orch's bins: the same bins a real image runs, from TypeScript source. */
const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];

export const PROJECT = "orch-test-project";
export const BUCKET = "orch-vertex";

export interface Harness {
  vertex: FakeVertex;
  gcs: FakeGcs;
  dir: string;
  keyFile: string;
  /** The orchestrator config (keyFile, apiEndpoint, image, commands). */
  config: VertexOrchestratorConfigInput;
  /** The gcs store's config: a fresh prefix of the test bucket. */
  storeConfig: { path: string; apiEndpoint: string };
  store: ArtifactStore;
  stack: StackDefinition;
  runtime(extra?: Partial<VertexOrchestratorConfigInput>): Orchestrator;
  close(): Promise<void>;
}

let counter = 0;

export async function createHarness(options: { projectRoot?: string; config?: Partial<VertexOrchestratorConfigInput>; vertex?: Partial<FakeVertexOptions> } = {}): Promise<Harness> {
  const projectRoot = options.projectRoot ?? fixtureRoot;
  const dir = await mkdtemp(join(tmpdir(), "orch-vertex-"));
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  const email = `orch-runner@${PROJECT}.iam.gserviceaccount.com`;
  const keyFile = join(dir, "service-account.json");
  // token_uri points at a closed loopback port: the key signs its own JWTs, so it is never called.
  await writeFile(keyFile, JSON.stringify({ type: "service_account", project_id: PROJECT, private_key_id: "test-key", private_key: privateKey, client_email: email, client_id: "1", token_uri: "http://127.0.0.1:9/token" }));
  const gcsServer = await startFakeGcs({ buckets: [BUCKET] });
  const vertexServer = await startFakeVertex({
    serviceAccount: { publicKey, email },
    projects: [PROJECT],
    executor: { cwd: projectRoot, baseEnv: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir } },
    ...options.vertex,
  });
  const storeConfig = { path: `gs://${BUCKET}/h${++counter}-${process.pid}`, apiEndpoint: gcsServer.url };
  const config: VertexOrchestratorConfigInput = {
    project: PROJECT,
    location: "us-central1",
    image: "us-docker.pkg.dev/orch-test-project/ml/project:test",
    projectRoot,
    entrypointCommand: [...node, coreBin],
    runCommand: [...node, runBin],
    keyFile,
    apiEndpoint: vertexServer.url,
    pollSeconds: 0.2,
    ...options.config,
  };
  const { store } = await createArtifactStore(gcs(storeConfig) as never, projectRoot);
  const runtimes: Orchestrator[] = [];
  return {
    vertex: vertexServer,
    gcs: gcsServer,
    dir,
    keyFile,
    config,
    storeConfig,
    store,
    stack: defineStack({ name: "vertex", orchestrator: vertex(config), artifactStore: gcs(storeConfig) }),
    runtime(extra = {}) {
      const runtime = createOrchestrator(parseComponentConfig(plugin, { ...config, ...extra }), { projectRoot, stackName: "vertex", artifactStore: store });
      runtimes.push(runtime);
      return runtime;
    },
    async close() {
      for (const runtime of runtimes) await runtime.dispose?.();
      await vertexServer.close();
      await gcsServer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value. */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Records every TCP connection this process opens that does not go to a loopback address (Google's
 * endpoints, the metadata server), and refuses it. `stop()` restores the socket and returns them.
 */
export function watchConnections(): { outside: string[]; stop(): string[] } {
  const outside: string[] = [];
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0] as { host?: string; path?: string } | number | string;
    const host = typeof first === "object" && first !== null ? (first.path ? "unix" : (first.host ?? "localhost")) : typeof first === "number" ? String(args[1] ?? "localhost") : "unix";
    if (!["127.0.0.1", "localhost", "::1", "unix"].includes(host)) {
      outside.push(host);
      queueMicrotask(() => this.destroy(new Error(`test: connection to ${host} refused (loopback only)`)));
      return this;
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
  return {
    outside,
    stop() {
      net.Socket.prototype.connect = original;
      return outside;
    },
  };
}
