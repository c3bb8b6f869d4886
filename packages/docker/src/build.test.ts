import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildProjectImage, createDockerClient, type BuildProgress } from "./index.js";
import { BASE_IMAGE, dockerMissing } from "../test/prerequisites.js";

const docker = createDockerClient();

const missing = await dockerMissing(docker);
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
