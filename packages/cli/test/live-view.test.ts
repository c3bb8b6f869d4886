import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type TempProject } from "./harness.js";

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    console.warn("skipping the terminal live-view tests: util-linux `script` (to get a pseudo-terminal) is not installed");
    return false;
  }
})();

const STEPS = 400;
const ROWS = 12;
let project: TempProject;
beforeAll(async () => {
  project = createProject("live-view");
  project.write(
    "src/fan.ts",
    `import { step, pipeline } from "@orch/core";
const noop = step({ name: "noop", cache: false }, (..._xs: number[]) => 1);
export const fan = pipeline({ name: "fan" }, () => {
  const root = noop();
  const middle = Array.from({ length: ${STEPS} }, (_, i) => noop(root, i));
  noop(...middle);
});
`,
  );
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

/** Runs orch in a pseudo-terminal of ROWS × 100 characters. */
const inTerminal = (args: string[]) =>
  project.orch(args, { wrap: (command) => ["script", ["-qec", `stty rows ${ROWS} cols 100; ${command.map((a) => `'${a}'`).join(" ")}`, "/dev/null"]] });

describe("the live view on a terminal", () => {
  it.skipIf(!hasScript)("is never taller than the terminal, and writes bytes in proportion to status changes, not steps × updates", async () => {
    const result = await inTerminal(["pipeline", "run", "src/fan.ts", "--run-id", "live-1"]);
    expect(result.code, result.stdout).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/Run live-1 succeeded/);
    expect(out).toMatch(new RegExp(`${STEPS + 2} steps: ${STEPS + 2} done`));
    // Every redraw moves up over the previous block: never more lines than the terminal has.
    const ups = [...out.matchAll(/\u001b\[(\d+)A/g)].map((m) => Number(m[1]));
    expect(ups.length).toBeGreaterThan(0);
    expect(Math.max(...ups)).toBeLessThan(ROWS);
    // Each block, between two cursor-ups, is at most ROWS - 1 lines.
    for (const chunk of out.split(/\u001b\[\d+A/)) expect(chunk.split("\u001b[2K").length - 1).toBeLessThan(ROWS);
    // Two status changes per step (running, done). Redrawing every step on every change was ~40 KB per change.
    const changes = 2 * (STEPS + 2);
    expect(Buffer.byteLength(out)).toBeLessThan(1500 * changes);
  });

  it("prints one plain line per status change when not on a terminal", async () => {
    const result = await project.orch(["pipeline", "run", "src/fan.ts", "--run-id", "live-2"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/\u001b\[/);
    const lines = result.stderr.trim().split("\n");
    expect(lines.filter((l) => /noop_\d+\s+running/.test(l))).toHaveLength(STEPS + 1);
    expect(lines.filter((l) => /noop_\d+\s+done/.test(l))).toHaveLength(STEPS + 1);
  });
});
