import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collectBuildContext, contextHash, sourceMounts } from "./context.js";
import { generateDockerfile } from "./dockerfile.js";

const dirs: string[] = [];
function temp(prefix = "orch-docker-ctx-"): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(path: string, text = path) {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

/** A pnpm-like layout: a workspace with a store, a linked package, and a project linking both. */
function pnpmWorkspace() {
  const ws = temp();
  write(join(ws, "node_modules", ".modules.yaml"), "layoutVersion: 5\n");
  const store = join(ws, "node_modules", ".pnpm");
  write(join(store, "dep-a@1.0.0", "node_modules", "dep-a", "index.js"), "export default 'a'");
  write(join(store, "dep-b@1.0.0", "node_modules", "dep-b", "index.js"), "export default 'b'");
  // dep-a depends on dep-b: pnpm links it next to dep-a inside dep-a's store folder.
  symlinkSync("../../dep-b@1.0.0/node_modules/dep-b", join(store, "dep-a@1.0.0", "node_modules", "dep-b"));
  write(join(store, "dev-tool@1.0.0", "node_modules", "dev-tool", "index.js"));
  write(join(store, "tsx@4.0.0", "node_modules", "tsx", "index.js"));

  const lib = join(ws, "packages", "lib");
  write(join(lib, "package.json"), JSON.stringify({ name: "lib", dependencies: { "dep-b": "1" }, devDependencies: { "dev-tool": "1" } }));
  write(join(lib, "src", "index.ts"), "export const lib = 1;");
  mkdirSync(join(lib, "node_modules"));
  symlinkSync("../../../node_modules/.pnpm/dep-b@1.0.0/node_modules/dep-b", join(lib, "node_modules", "dep-b"));
  symlinkSync("../../../node_modules/.pnpm/dev-tool@1.0.0/node_modules/dev-tool", join(lib, "node_modules", "dev-tool"));

  const app = join(ws, "apps", "app");
  write(join(app, "package.json"), JSON.stringify({ name: "app", dependencies: { "dep-a": "1", lib: "workspace:*" }, devDependencies: { tsx: "4", "dev-tool": "1" } }));
  write(join(app, "src", "pipeline.ts"), "export const x = 1;");
  write(join(app, "debug.log"), "noise");
  write(join(app, "scratch", "big.bin"), "noise");
  write(join(app, ".orch", "artifacts", "runs", "r1", "run.json"), "{}");
  write(join(app, ".dockerignore"), "# comment\n*.log\nscratch/\n");
  mkdirSync(join(app, "node_modules"));
  symlinkSync("../../../node_modules/.pnpm/dep-a@1.0.0/node_modules/dep-a", join(app, "node_modules", "dep-a"));
  symlinkSync("../../../node_modules/.pnpm/tsx@4.0.0/node_modules/tsx", join(app, "node_modules", "tsx"));
  symlinkSync("../../../node_modules/.pnpm/dev-tool@1.0.0/node_modules/dev-tool", join(app, "node_modules", "dev-tool"));
  symlinkSync("../../../packages/lib", join(app, "node_modules", "lib"));
  return { ws, app, lib, store };
}

describe("collectBuildContext", () => {
  it("takes the project's files minus .dockerignore and .orch, and follows node_modules links to what they need", async () => {
    const { app, lib, store } = pnpmWorkspace();
    const context = await collectBuildContext({ projectRoot: app });
    const paths = context.entries.map((e) => e.path);
    expect(paths).toContain(join(app, "src", "pipeline.ts"));
    expect(paths).toContain(join(app, "package.json"));
    expect(paths).not.toContain(join(app, "debug.log"));
    expect(paths.some((p) => p.includes("/scratch/"))).toBe(false);
    expect(paths.some((p) => p.includes("/.orch/"))).toBe(false);
    // Dependencies (and their own linked dependencies), the linked workspace package, and tsx.
    expect(paths).toContain(join(store, "dep-a@1.0.0", "node_modules", "dep-a", "index.js"));
    expect(paths).toContain(join(store, "dep-b@1.0.0", "node_modules", "dep-b", "index.js"));
    expect(paths).toContain(join(lib, "src", "index.ts"));
    expect(paths).toContain(join(store, "tsx@4.0.0", "node_modules", "tsx", "index.js"));
    // devDependencies are not copied (neither the project's nor the linked package's).
    expect(paths.some((p) => p.includes("dev-tool"))).toBe(false);
    const link = context.entries.find((e) => e.path === join(app, "node_modules", "dep-a"))!;
    expect(link).toMatchObject({ type: "symlink", linkTarget: "../../../node_modules/.pnpm/dep-a@1.0.0/node_modules/dep-a", dependency: true });
  });

  it("includes devDependencies when asked", async () => {
    const { app } = pnpmWorkspace();
    const context = await collectBuildContext({ projectRoot: app, includeDevDependencies: true });
    expect(context.entries.some((e) => e.path.endsWith("/dev-tool/index.js"))).toBe(true);
  });

  it("gives the same hash for an unchanged project and a new one when a file, the Dockerfile or a build arg changes", async () => {
    const { app } = pnpmWorkspace();
    const dockerfile = generateDockerfile({ baseImage: "node:20", projectRoot: app, hasDependencies: true, hasApplication: true });
    const hashOf = async (file = dockerfile, args: Record<string, string> = {}) => contextHash(file, args, (await collectBuildContext({ projectRoot: app })).entries);
    const first = await hashOf();
    expect(await hashOf()).toBe(first);
    write(join(app, "debug.log"), "ignored files do not count");
    expect(await hashOf()).toBe(first);
    expect(await hashOf(dockerfile.replace("node:20", "node:22"))).not.toBe(first);
    expect(await hashOf(dockerfile, { A: "1" })).not.toBe(first);
    write(join(app, "src", "pipeline.ts"), "export const x = 2;");
    expect(await hashOf()).not.toBe(first);
  });
});

describe("sourceMounts", () => {
  it("mounts the project plus the folders its links lead to, collapsing nested ones", async () => {
    const { ws, app, lib } = pnpmWorkspace();
    expect(await sourceMounts(app)).toEqual([app, join(ws, "node_modules"), lib].sort());
  });
});

describe("generateDockerfile", () => {
  it("copies dependencies before the project's own files, then sets the workdir, install command and env", () => {
    const text = generateDockerfile({
      baseImage: "node:20-slim",
      projectRoot: "/work/app",
      extraLines: ["RUN echo $FLAVOUR"],
      buildArgs: { FLAVOUR: "x" },
      installCommand: "npm ci --omit=dev",
      env: { A: "1" },
      hasDependencies: true,
      hasApplication: true,
    });
    expect(text.split("\n").filter((l) => !l.startsWith("#") && l)).toEqual([
      "FROM node:20-slim",
      "ARG FLAVOUR",
      "RUN echo $FLAVOUR",
      "COPY deps/ /",
      "COPY app/ /",
      "WORKDIR /work/app",
      "RUN npm ci --omit=dev",
      'ENV A="1"',
      'ENV ORCH_PROJECT_ROOT="/work/app"',
    ]);
  });
});

// Issue 19: a new `orch pipeline run` process must not re-read a large unchanged project.
describe("the context hash stat cache", () => {
  const contextModule = new URL("./context.ts", import.meta.url).href;
  /** Collects the context in a fresh process (no in-process memo), as each `orch pipeline run` does. */
  function collectInNewProcess(projectRoot: string): { hashed: number; hash: string } {
    const script = `import { collectBuildContext, contextHash } from ${JSON.stringify(contextModule)};
const c = await collectBuildContext({ projectRoot: ${JSON.stringify(projectRoot)} });
console.log(JSON.stringify({ hashed: c.hashed, hash: contextHash("", {}, c.entries) }));`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) });
    return JSON.parse(out.trim().split("\n").pop()!);
  }

  it("reads only changed files in a new process, and still sees every change", () => {
    const project = temp();
    for (let i = 0; i < 20; i++) write(join(project, "src", `file-${i}.ts`), `export const x${i} = ${i};`);
    const first = collectInNewProcess(project);
    expect(first.hashed).toBe(20);
    const second = collectInNewProcess(project);
    expect(second).toEqual({ hashed: 0, hash: first.hash });

    // Same size, new content: the stamp (mtime/ctime) changes, the file is read again.
    write(join(project, "src", "file-3.ts"), "export const x3 = 9;");
    const third = collectInNewProcess(project);
    expect(third.hashed).toBe(1);
    expect(third.hash).not.toBe(first.hash);

    // A corrupt cache file is not trusted: everything is hashed again, with the same result.
    writeFileSync(join(project, ".orch", "cache", "context-hashes.json"), "{not json");
    expect(collectInNewProcess(project)).toEqual({ hashed: 20, hash: third.hash });
  });
});
