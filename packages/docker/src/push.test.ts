// Issue 19: pushes to a real registry (Debian's docker-registry on 127.0.0.1), anonymous and with
// htpasswd basic auth; a second push uploads nothing (manifest HEAD first); clear auth/unreachable errors.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProjectImage, createDockerClient, type BuildProgress } from "./index.js";
import { freePort, startRegistry, type RegistryServer } from "../test/registry-server.js";
import { BASE_IMAGE, dockerMissing } from "../test/prerequisites.js";

const docker = createDockerClient();

const missing = await dockerMissing(docker, { registry: true });
if (missing && process.env.ORCH_REQUIRE_DOCKER === "1") {
  describe("pushes to a real registry", () => {
    it("has a Docker engine, the base image and docker-registry (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`Registry tests cannot run: ${missing}`);
    });
  });
} else if (missing) {
  console.warn(`[orch] SKIPPING @orch/docker registry tests: ${missing}. Set ORCH_REQUIRE_DOCKER=1 to make this a failure.`);
}

async function removeImages(prefix: string): Promise<void> {
  for (const image of await docker.listImages({ filters: { reference: [`${prefix}*`] } })) {
    for (const tag of image.RepoTags ?? []) await docker.getImage(tag).remove({ force: true }).catch(() => {});
    for (const digest of image.RepoDigests ?? []) await docker.getImage(digest).remove({ force: true }).catch(() => {});
  }
}

type Failure = Error & { code: string; hint: string; key?: string };
/** The error a call rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    return error as Failure;
  }
  throw new Error("expected the call to fail");
}

async function runIn(image: string, cmd: string[]): Promise<string> {
  const container = await docker.createContainer({ Image: image, Cmd: cmd, HostConfig: { NetworkMode: "none" } });
  try {
    await container.start();
    await container.wait();
    return (await container.logs({ stdout: true, stderr: true })).toString("utf8");
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

describe.skipIf(missing !== undefined)("pushes to a real registry", () => {
  const project = realpathSync(mkdtempSync(join(tmpdir(), "orch-docker-push-")));
  const imageName = `orch-push-test-${project.split("-").pop()!.toLowerCase()}`;
  let anonymous: RegistryServer;
  let basic: RegistryServer;
  const user = { username: "pusher", password: "pa55-wörd:with-colon" };

  beforeAll(async () => {
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "p", type: "module" }));
    writeFileSync(join(project, "main.js"), "console.log('hello from the pushed image')");
    [anonymous, basic] = await Promise.all([startRegistry(), startRegistry({ htpasswd: user })]);
  });
  afterAll(async () => {
    await removeImages(imageName);
    for (const server of [anonymous, basic]) if (server) await removeImages(`${server.host}/${imageName}`);
    await Promise.all([anonymous?.stop(), basic?.stop()]);
    rmSync(project, { recursive: true, force: true });
  });

  it("pushes by content hash, pushes nothing the second time, and pulls by digest where the image is missing", async () => {
    const events: BuildProgress[] = [];
    const options = { docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry: { uri: anonymous.host }, onProgress: (e: BuildProgress) => events.push(e) };
    const first = await buildProjectImage(options);
    expect(first).toMatchObject({ built: true, uploaded: true, pushedTag: `${anonymous.host}/${imageName}:${first.hash.slice(0, 16)}` });
    expect(first.pushed).toBe(`${anonymous.host}/${imageName}@${first.digest}`);
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(events.some((e) => e.phase === "push")).toBe(true);
    expect(await anonymous.catalog()).toContain(imageName);
    expect(await anonymous.tags(imageName)).toEqual([first.hash.slice(0, 16)]);
    const puts = anonymous.manifestPuts();
    expect(puts).toBeGreaterThan(0);

    events.length = 0;
    const second = await buildProjectImage(options);
    expect(second).toMatchObject({ built: false, uploaded: false, pushed: first.pushed, digest: first.digest });
    expect(events.filter((e) => e.phase === "push" || e.phase === "build")).toEqual([]);
    expect(events.map((e) => e.message).join("\n")).toContain("nothing to push");
    expect(anonymous.manifestPuts()).toBe(puts);

    // Another machine (or a pruned engine): the registry has it, this engine does not — pull, don't build.
    await removeImages(imageName);
    await removeImages(`${anonymous.host}/${imageName}`);
    events.length = 0;
    const third = await buildProjectImage(options);
    expect(third).toMatchObject({ built: false, uploaded: false, pushed: first.pushed });
    expect(events.some((e) => e.phase === "pull")).toBe(true);
    expect(events.some((e) => e.phase === "build")).toBe(false);
    expect(await runIn(first.pushed!, ["node", "main.js"])).toContain("hello from the pushed image");
    expect(await runIn(third.image, ["node", "main.js"])).toContain("hello from the pushed image");
  });

  it("pushes with basic auth credentials fetched at push time, and names registry and credential source on 401", async () => {
    let fetched = 0;
    const registry = {
      uri: basic.host,
      credentialSource: "password from {{env.TEST_REGISTRY_PASSWORD}}",
      credentials: async () => {
        fetched++;
        return { ...user, source: "user pusher, password from {{env.TEST_REGISTRY_PASSWORD}}" };
      },
    };
    const pushed = await buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry });
    expect(pushed.uploaded).toBe(true);
    expect(fetched).toBe(1);
    expect(await basic.tags(imageName)).toEqual([pushed.hash.slice(0, 16)]);
    expect((await buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry })).uploaded).toBe(false);

    const wrong = { uri: basic.host, credentials: async () => ({ username: "pusher", password: "not-the-password-x9", source: "user pusher, password stored in the component config" }) };
    const error = await failure(buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry: wrong }));
    expect(error).toMatchObject({ code: "E_REGISTRY_AUTH" });
    expect(error.message).toContain(basic.host);
    expect(error.message).toContain("password stored in the component config");
    expect(error.hint).toMatch(/orch container-registry update/);
    expect(`${error.message} ${error.hint}`).not.toContain("not-the-password-x9");

    const none = await failure(buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry: { uri: basic.host } }));
    expect(none).toMatchObject({ code: "E_REGISTRY_AUTH" });
    expect(none.message).toMatch(/none \(anonymous\)/);
    expect(none.hint).toMatch(/needs credentials/);
  });

  it("refuses a push whose digest the registry does not serve, since the orchestrator pulls by digest", async () => {
    // A proxy in front of the real registry that loses manifests by digest (a broken cache or mirror).
    const { createServer, request } = await import("node:http");
    const proxy = createServer((req, res) => {
      if (/\/manifests\/sha256:/.test(req.url ?? "")) return void res.writeHead(404, { "content-type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      const upstream = request({ host: "127.0.0.1", port: anonymous.port, method: req.method, path: req.url, headers: { ...req.headers, host: anonymous.host } }, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const host = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const error = await failure(buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName: `${imageName}-lost`, registry: { uri: host } }));
      expect(error).toMatchObject({ code: "E_IMAGE_PUSH" });
      expect(error.message).toMatch(new RegExp(`${host}/${imageName}-lost@sha256:[0-9a-f]{64} afterwards, so an orchestrator could not pull it`));
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
      await removeImages(`${host}/${imageName}`);
      await removeImages(`${imageName}-lost`);
    }
  });

  it("says which registry is unreachable and how to fix it", async () => {
    const port = await freePort();
    const error = await failure(buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry: { uri: `127.0.0.1:${port}/team` } }));
    expect(error).toMatchObject({ code: "E_REGISTRY_UNREACHABLE" });
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.hint).toMatch(/Start the registry or fix the container registry's uri/);
  });

  it("refuses a registry uri with a scheme before contacting anything", async () => {
    const error = await failure(buildProjectImage({ docker, projectRoot: project, baseImage: BASE_IMAGE, imageName, registry: { uri: `http://${anonymous.host}` } }));
    expect(error).toMatchObject({ code: "E_CONFIG_INVALID", key: "uri" });
    expect(error.hint).toContain(anonymous.host);
  });
});
