// GitHub Actions cannot run here: these tests parse the workflow files and check the properties the
// repository relies on. ci.yml: the required check `ci-ok` waits for every job (the package matrix
// included) and fails unless each succeeded; each package job installs, builds and tests only its own
// package (and what it depends on); plugins are also tested against their packed tarball.
// release.yml: changesets/action versions and publishes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  strategy?: { matrix?: unknown };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = (name: string) => parse(readFileSync(new URL(`../.github/workflows/${name}`, import.meta.url), "utf8")) as Workflow;
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const runs = (job: Job) => job.steps.map((step) => step.run ?? "").filter(Boolean);

describe("ci.yml", () => {
  const ci = load("ci.yml");

  it("ci-ok needs every other job, the package matrix included", () => {
    const others = Object.keys(ci.jobs).filter((name) => name !== "ci-ok");
    expect(others).toContain("test");
    expect(new Set(needsOf(ci.jobs["ci-ok"]!))).toEqual(new Set(others));
  });

  it("ci-ok runs when a job failed or was cancelled, and fails unless every job succeeded", () => {
    const job = ci.jobs["ci-ok"]!;
    expect(job.if).toBe("always()");
    const step = job.steps.find((s) => s.run?.includes("needs"))!;
    expect(step.env?.RESULTS).toBe("${{ toJSON(needs) }}");
    // Run the step's check on the results GitHub would pass, as the runner would.
    const script = /node -e '([\s\S]*)'/.exec(step.run!)![1]!;
    const verdict = (results: Record<string, string>) => {
      const needs = Object.fromEntries(Object.entries(results).map(([job, result]) => [job, { result }]));
      const exit = { code: 0 };
      const fakeProcess = { env: { RESULTS: JSON.stringify(needs) }, exit: (code: number) => { exit.code = code; throw exit; } };
      try {
        new Function("process", "console", script)(fakeProcess, { log: () => {} });
      } catch (thrown) {
        if (thrown !== exit) throw thrown;
      }
      return exit.code === 0 ? "green" : "red";
    };
    const all = Object.fromEntries(needsOf(job).map((name) => [name, "success"]));
    expect(verdict(all)).toBe("green");
    for (const name of needsOf(job)) {
      for (const result of ["failure", "cancelled"]) expect(verdict({ ...all, [name]: result }), `${name}: ${result}`).toBe("red");
    }
    expect(verdict({ ...all, test: "skipped" })).toBe("green"); // an empty matrix: nothing changed
    expect(verdict({ ...all, packages: "skipped" })).toBe("red");
  });

  it("each package job installs only that package and its workspace dependencies", () => {
    const job = ci.jobs.test!;
    expect(job.strategy?.matrix).toBe("${{ fromJson(needs.packages.outputs.matrix) }}");
    const installs = runs(job).filter((run) => run.includes("pnpm install"));
    expect(installs).toEqual(['pnpm install --frozen-lockfile --filter "${{ matrix.package }}..."']);
    for (const run of runs(job)) {
      expect(run, "no job drags in the whole workspace").not.toMatch(/orch-monorepo|pnpm (build|test|typecheck)\b|pnpm vitest run --project/);
      for (const command of run.split("\n").filter((line) => /\bpnpm\b/.test(line) && !line.includes("pnpm install"))) {
        expect(command, "every pnpm command is filtered by the matrix package").toMatch(/--filter "\$\{\{ matrix\.package \}\}(\.\.\.)?"/);
      }
    }
  });

  it("the root, which pnpm installs in every filtered job, pulls in no plugin but local", () => {
    // pnpm always installs the workspace root's own dependencies, also under --filter (pnpm/pnpm#7208):
    // a workspace package listed there is in every package job. Only what bench/ and `pnpm exec orch` need.
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const workspaceDeps = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(([, range]) => range.startsWith("workspace:")).map(([name]) => name);
    expect(workspaceDeps.sort()).toEqual(["@orch/cli", "@orch/core", "@orch/plugin-local"]);
  });

  it("plugins are tested against their packed tarball in their own job", () => {
    const job = ci.jobs.test!;
    const pack = job.steps.find((s) => s.run?.includes("pnpm pack"))!;
    const packed = job.steps.find((s) => s.run?.includes("scripts/test-packed.mjs"))!;
    expect(pack.run).toContain('pnpm --filter "${{ matrix.package }}..." build');
    expect(job.steps.indexOf(packed)).toBeGreaterThan(job.steps.indexOf(pack));
    expect(packed.if).toContain("@orch/plugin-");
  });

  it("publint and attw check every public package", () => {
    const checks = Object.values(ci.jobs).flatMap(runs);
    expect(checks).toContain("pnpm check:packages");
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.scripts["check:packages"]).toBe("node scripts/check-packages.mjs");
    expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(["publint", "@arethetypeswrong/cli"]));
  });
});

describe("release.yml", () => {
  const release = load("release.yml");

  it("runs changesets/action on pushes to main, versioning and publishing with pnpm", () => {
    expect(Object.keys(release.on)).toEqual(["push"]);
    const steps = Object.values(release.jobs).flatMap((job) => job.steps);
    const changesets = steps.find((s) => s.uses?.startsWith("changesets/action@"))!;
    expect(changesets.with?.publish).toBe("pnpm release");
    expect(changesets.with?.version).toBe("pnpm changeset version");
    expect(changesets.env?.NPM_TOKEN).toBe("${{ secrets.NPM_TOKEN }}");
    expect(release.permissions?.["id-token"]).toBe("write"); // npm provenance
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.release).toMatch(/check:packages.*changeset publish/);
  });
});
