import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { configSchema } from "../src/schema.js";

/** A running s3rver: its endpoint on 127.0.0.1, the credentials it accepts, and how to stop it. */
export interface S3rverHandle {
  endpoint: string;
  port: number;
  /** s3rver's built-in account; it checks the key id, not V4 signatures. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  directory: string;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL("./s3rver-child.cjs", import.meta.url));

/**
 * Starts s3rver in a child process on a free port, with `buckets` created. `--openssl-legacy-provider`
 * because s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17) only
 * has in its legacy provider: without it every listing past 1,000 keys fails with InternalError.
 */
export async function startS3rver(buckets: string[] = []): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), "orch-s3rver-"));
  const child: ChildProcess = spawn(process.execPath, ["--openssl-legacy-provider", CHILD, directory, ...buckets], { stdio: ["ignore", "pipe", "pipe", "ipc"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code} before listening: ${stderr}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    directory,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill();
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file: one s3rver with `bucket` for the whole file (started in beforeAll, stopped in
 * afterAll), and `config()` giving a parsed s3 store config under a fresh prefix on each call.
 */
export function useS3rver(bucket: string, prefix: string) {
  let server: S3rverHandle | undefined;
  let n = 0;
  beforeAll(async () => {
    server = await startS3rver([bucket]);
  });
  afterAll(async () => server?.stop());
  const running = () => {
    if (!server) throw new Error("s3rver is not running (useS3rver's beforeAll has not run)");
    return server;
  };
  return {
    server: running,
    config: (extra: Record<string, unknown> = {}) =>
      configSchema.parse({ path: `s3://${bucket}/${prefix}${++n}`, endpoint: running().endpoint, forcePathStyle: true, ...running().credentials, ...extra }),
  };
}
