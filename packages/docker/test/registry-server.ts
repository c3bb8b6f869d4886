/**
 * A real container registry for tests: Debian's `docker-registry` (the CNCF distribution registry)
 * started on 127.0.0.1 with its storage in a temp folder — anonymous, with htpasswd basic auth, or
 * with token auth against a realm the test serves. scripts/ci/setup-registry.sh installs it.
 * Loopback registries are "insecure registries" for dockerd by default, so plain HTTP pushes work.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RegistryServer {
  /** `127.0.0.1:<port>` — the registry URI to push under. */
  host: string;
  port: number;
  /** Repositories in `/v2/_catalog`. */
  catalog(): Promise<string[]>;
  /** Tags of a repository (`/v2/<repo>/tags/list`); [] when it does not exist. */
  tags(repository: string): Promise<string[]>;
  /** Number of blob uploads the registry has started (a push that uploads nothing leaves it unchanged). */
  uploads(): number;
  /** Number of manifests pushed (every `docker push` that changes the registry PUTs one). */
  manifestPuts(): number;
  stop(): Promise<void>;
}

export interface RegistryServerOptions {
  /** Require basic auth with this user (bcrypt htpasswd entry). */
  htpasswd?: { username: string; password: string };
  /** Listen on this port (default: a free one). */
  port?: number;
  /** Token auth: the registry sends clients to `realm` and trusts tokens signed by `certificate`'s key. */
  token?: { realm: string; service: string; issuer: string; certificateFile: string };
}

/** Why registry tests cannot run here, or undefined when they can. */
export function registryMissing(): string | undefined {
  if (spawnSync("docker-registry", ["--version"], { stdio: "ignore" }).status !== 0) return "docker-registry is not installed (run scripts/ci/setup-registry.sh)";
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A bcrypt htpasswd line (the registry accepts only bcrypt). */
export function htpasswdLine(username: string, password: string): string {
  const result = spawnSync("htpasswd", ["-nbB", username, password], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`htpasswd failed: ${result.stderr}`);
  return result.stdout.trim();
}

export async function startRegistry(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  const dir = mkdtempSync(join(tmpdir(), "orch-registry-"));
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  let auth = "";
  if (options.htpasswd) {
    writeFileSync(join(dir, "htpasswd"), `${htpasswdLine(options.htpasswd.username, options.htpasswd.password)}\n`);
    auth = `auth:\n  htpasswd:\n    realm: orch-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (options.token) {
    const t = options.token;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certificateFile}\n`;
  }
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n  secret: orch-test-secret\n${auth}`,
  );
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"] });
  let uploads = 0;
  let manifestPuts = 0;
  let output = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    // Every blob upload starts with a POST to /blobs/uploads/.
    uploads += (text.match(/"POST \/v2\/[^"]*\/blobs\/uploads\/[^"]*"/g) ?? []).length;
    manifestPuts += (text.match(/"PUT \/v2\/[^"]*\/manifests\/[^"]*"/g) ?? []).length;
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const basic = options.htpasswd ? `Basic ${Buffer.from(`${options.htpasswd.username}:${options.htpasswd.password}`).toString("base64")}` : undefined;
  const get = (path: string) => fetch(`http://${host}${path}`, { headers: basic ? { authorization: basic } : {} });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`http://${host}/v2/`);
      if (response.status === 200 || response.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${host}:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    port,
    async catalog() {
      const body = (await (await get("/v2/_catalog")).json()) as { repositories?: string[] };
      return body.repositories ?? [];
    },
    async tags(repository) {
      const response = await get(`/v2/${repository}/tags/list`);
      if (response.status === 404) return [];
      return ((await response.json()) as { tags?: string[] }).tags ?? [];
    },
    uploads: () => uploads,
    manifestPuts: () => manifestPuts,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
