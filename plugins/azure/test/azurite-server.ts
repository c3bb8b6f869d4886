/**
 * Azurite (Microsoft's Azure Storage emulator, from npm) for the tests: its blob service on 127.0.0.1, on a
 * free port, with its data in a temp folder, telemetry off. The plain SDK helpers here check what the store
 * wrote independently of the store's own code.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

/** Azurite's well-known development account (published in Microsoft's docs; not a secret). */
export const DEV_ACCOUNT = "devstoreaccount1";
export const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
  /** Blob endpoint, path-style: http://127.0.0.1:<port>/devstoreaccount1 */
  endpoint: string;
  connectionString: string;
  port: number;
  /** Plain SDK client with the dev credentials, for setting up containers and checking results. */
  service: BlobServiceClient;
  /** Creates a fresh container and returns its name. */
  container(prefix?: string): Promise<string>;
  process: ChildProcess;
  stop(): Promise<void>;
}

let counter = 0;

export function clients(endpoint: string, port: number, connectionString: string): Omit<Azurite, "process" | "stop"> {
  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
  return {
    endpoint,
    connectionString,
    port,
    service,
    async container(prefix = "orch") {
      // Unique across the test files that share one Azurite (each runs in its own worker process).
      const name = `${prefix}-${process.pid}-${++counter}-${randomBytes(4).toString("hex")}`;
      await service.getContainerClient(name).create();
      return name;
    },
  };
}

export async function startAzurite(): Promise<Azurite> {
  const main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
  const location = mkdtempSync(join(tmpdir(), "orch-azurite-"));
  const child = spawn(
    process.execPath,
    [main, "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", location, "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Azurite did not start within 30 s:\n${output}`)), 30_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited (${code}) before listening:\n${output}`));
    });
  });
  // Keep draining its output so the pipe never fills up.
  child.stdout!.resume();
  child.stderr!.resume();
  const endpoint = `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${endpoint};`;
  return {
    ...clients(endpoint, port, connectionString),
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(location, { recursive: true, force: true });
    },
  };
}

/** Every blob name in a container (plain SDK), for checking what the store wrote. */
export async function blobNames(service: BlobServiceClient, container: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const item of service.getContainerClient(container).listBlobsFlat({ prefix })) names.push(item.name);
  return names;
}

/** A blob's text (plain SDK), or undefined when it does not exist. */
export async function blobText(service: BlobServiceClient, container: string, name: string): Promise<string | undefined> {
  const client = service.getContainerClient(container).getBlobClient(name);
  if (!(await client.exists())) return undefined;
  return (await client.downloadToBuffer()).toString("utf8");
}
