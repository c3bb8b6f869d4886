import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildProjectImage, createDockerClient, inspectImage, type BuildProgress } from "./index.js";

const BASE_IMAGE = process.env.ORCH_DOCKER_BASE_IMAGE ?? "orch-node-base:local";
const docker = createDockerClient();

async function probe(): Promise<string | undefined> {
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 5s")), 5000))]);
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message}); run scripts/ci/setup-docker.sh`;
  }
  return (await inspectImage(docker, BASE_IMAGE)) ? undefined : `base image ${BASE_IMAGE} is missing; run scripts/ci/setup-docker.sh`;
}

const missing = await probe();
if (missing && process.env.ORCH_REQUIRE_DOCKER === "1") {
  describe("image builds on a real Docker engine", () => {
    it("has a Docker engine and the base image (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`Docker tests cannot run: ${missing}`);
    });
  });
} else if (missing) {
  console.warn(`[orch] SKIPPING @orch/docker build tests: ${missing}. Set ORCH_REQUIRE_DOCKER=1 to make this a failure.`);
}

describe.skipIf(missing !== undefined)("image builds on a real Docker engine", () => {
  const project = realpathSync(mkdtempSync(join(tmpdir(), "orch-docker-build-")));
  const imageName = `orch-build-test-${project.split("-").pop()!.toLowerCase()}`;
  afterAll(async () => {
    for (const image of await docker.listImages({ filters: { reference: [`${imageName}*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    rmSync(project, { recursive: true, force: true });
  });

  it("builds the project into an image tagged by content hash, reuses it unchanged and rebuilds after a change", async () => {
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "p", type: "module" }));
    writeFileSync(join(project, "main.js"), "console.log('v1', process.cwd(), process.env.ORCH_PROJECT_ROOT, process.env.FROM_BUILD)");
    writeFileSync(join(project, "secret.log"), "never in the image");
    writeFileSync(join(project, ".dockerignore"), "*.log\n");
    const events: BuildProgress[] = [];
    const options = { docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, env: { FROM_BUILD: "yes" }, onProgress: (e: BuildProgress) => events.push(e) };

    const first = await buildProjectImage(options);
    expect(first.built).toBe(true);
    expect(first.image).toBe(`${imageName}:${first.hash.slice(0, 16)}`);
    expect(events.some((e) => e.phase === "build")).toBe(true);
    const out = await runIn(first.image, ["node", "main.js"]);
    expect(out.trim()).toBe(`v1 ${project} ${project} yes`);
    expect(await runIn(first.image, ["node", "-e", `console.log(require('fs').existsSync(${JSON.stringify(join(project, "secret.log"))}))`])).toContain("false");

    events.length = 0;
    const again = await buildProjectImage(options);
    expect(again).toMatchObject({ built: false, image: first.image, imageId: first.imageId });
    expect(events.map((e) => e.phase)).toEqual(["context", "reuse"]);

    writeFileSync(join(project, "main.js"), "console.log('v2')");
    const changed = await buildProjectImage(options);
    expect(changed.built).toBe(true);
    expect(changed.image).not.toBe(first.image);
    expect((await runIn(changed.image, ["node", "main.js"])).trim()).toBe("v2");
  });

  it("pushes a freshly built image to the stack's container registry", async () => {
    const registry = await startRegistry();
    try {
      writeFileSync(join(project, "main.js"), "console.log('pushed')");
      const events: BuildProgress[] = [];
      const result = await buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry: { uri: registry.uri }, onProgress: (e) => events.push(e) });
      expect(result.built).toBe(true);
      expect(result.pushed).toBe(`${registry.uri}/${imageName}:${result.hash.slice(0, 16)}`);
      expect(events.some((e) => e.phase === "push")).toBe(true);
      const manifest = JSON.parse(registry.manifests.get(`${imageName}:${result.hash.slice(0, 16)}`)!.toString("utf8"));
      expect(manifest.layers.length).toBeGreaterThan(0);
      for (const layer of manifest.layers) expect(registry.blobs.has(layer.digest)).toBe(true);
      await docker.getImage(result.pushed!).remove({ force: true }).catch(() => {});
    } finally {
      await registry.close();
    }
  });

  it("keeps only the newest `keepImages` images of a project", async () => {
    const prune = `${imageName}-prune`;
    const built: string[] = [];
    for (const version of ["a", "b", "c"]) {
      writeFileSync(join(project, "main.js"), `console.log(${JSON.stringify(version)})`);
      built.push((await buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName: prune, keepImages: 2 })).image);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // image creation times have 1 s resolution
    }
    const left = (await docker.listImages({ filters: { reference: [prune] } })).flatMap((i) => i.RepoTags ?? []).sort();
    expect(left).toEqual(built.slice(1).sort());
  });

  it("fails with the engine's message when a Dockerfile line fails", async () => {
    await expect(buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, extraLines: ["COPY does-not-exist /nowhere"] })).rejects.toThrow(
      /Docker image build failed: .*does-not-exist/,
    );
  });
});

async function runIn(image: string, cmd: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  const { PassThrough } = await import("node:stream");
  const out = new PassThrough();
  out.on("data", (c: Buffer) => chunks.push(c));
  const [result, container] = (await docker.run(image, cmd, out, { HostConfig: { NetworkMode: "none" }, Tty: true })) as [{ StatusCode: number }, { remove(o: object): Promise<void> }];
  await container.remove({ force: true });
  expect(result.StatusCode).toBe(0);
  return Buffer.concat(chunks).toString("utf8").replace(/\r/g, "");
}

/**
 * A registry speaking enough of the Docker Registry HTTP API v2 for `docker push` (blob uploads and
 * manifests), on 127.0.0.1 — which the engine treats as an insecure registry by default.
 */
async function startRegistry() {
  const { createServer } = await import("node:http");
  const { createHash, randomUUID } = await import("node:crypto");
  const blobs = new Map<string, Buffer>();
  const uploads = new Map<string, Buffer[]>();
  const manifests = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url!, "http://registry");
      const path = url.pathname;
      res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
      if (path === "/v2/" || path === "/v2") return void res.writeHead(200).end("{}");
      let m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(path);
      if (m && req.method === "POST") {
        const id = randomUUID();
        uploads.set(id, []);
        res.writeHead(202, { Location: `/v2/${m[1]}/blobs/uploads/${id}`, "Docker-Upload-UUID": id, Range: "0-0", "Content-Length": "0" });
        return void res.end();
      }
      m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(path);
      if (m) {
        const parts = uploads.get(m[2]!) ?? [];
        parts.push(body);
        uploads.set(m[2]!, parts);
        const size = parts.reduce((n, p) => n + p.length, 0);
        if (req.method === "PATCH") {
          res.writeHead(202, { Location: `/v2/${m[1]}/blobs/uploads/${m[2]}`, "Docker-Upload-UUID": m[2]!, Range: `0-${Math.max(0, size - 1)}`, "Content-Length": "0" });
          return void res.end();
        }
        const digest = url.searchParams.get("digest")!;
        blobs.set(digest, Buffer.concat(parts));
        res.writeHead(201, { Location: `/v2/${m[1]}/blobs/${digest}`, "Docker-Content-Digest": digest, "Content-Length": "0" });
        return void res.end();
      }
      m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]+)$/.exec(path);
      if (m) {
        const blob = blobs.get(m[2]!);
        if (!blob) return void res.writeHead(404).end();
        res.writeHead(200, { "Content-Length": String(blob.length), "Docker-Content-Digest": m[2]! });
        return void res.end(req.method === "HEAD" ? undefined : blob);
      }
      m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
      if (m && req.method === "PUT") {
        const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
        manifests.set(`${m[1]}:${m[2]}`, body);
        res.writeHead(201, { Location: `/v2/${m[1]}/manifests/${digest}`, "Docker-Content-Digest": digest, "Content-Length": "0" });
        return void res.end();
      }
      if (m) {
        const manifest = manifests.get(`${m[1]}:${m[2]}`);
        if (!manifest) return void res.writeHead(404).end();
        res.writeHead(200, { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json", "Content-Length": String(manifest.length) });
        return void res.end(req.method === "HEAD" ? undefined : manifest);
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { uri: `127.0.0.1:${port}`, manifests, blobs, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
