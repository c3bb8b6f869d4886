#!/usr/bin/env node
// Fails when a workspace package has an import cycle, or when a module of @orch/core imports a layer
// above its own. Run with `pnpm check:cycles`; CI runs it before the tests.
//
// The graph is the *runtime* one (dpdm's `transform`: TypeScript is compiled first, so `import type`
// disappears) and it includes dynamic `import()`. Type-only references cannot change the order in which
// modules evaluate, and interfaces that mention each other (a plugin's SubmitContext names the pipeline,
// the pipeline's run() names the stack) are how a typed API reads; every value import counts.
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCircular, parseDependencyTree } from "dpdm";

const root = resolve(import.meta.dirname, "..");
const packageDirs = ["packages", "plugins", "examples", "templates"].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(group, name)) : [],
);

/**
 * @orch/core's layers, bottom first (docs/architecture.md): a module may import its own layer and the
 * ones below it, never one above. `base` is the leaf helpers every layer uses (errors, names, hashing).
 */
const CORE_LAYERS = [
  ["base", /^src\/[^/]+\.ts$/],
  ["settings", /^src\/settings\//],
  // The artifact store contract, the journal and materializers need nothing but base: the DSL checks
  // values with the materializers, so storage sits below it.
  ["storage", /^src\/(store|artifacts)\//],
  ["dsl", /^src\/dsl\//],
  ["snapshot", /^src\/snapshot\//],
  ["runner", /^src\/run\//],
  ["plugins", /^src\/(plugins|kit)\//],
  ["host", /^src\/entrypoint\//],
];
// Files at the top although their folder is lower: the package entries, and two runner files that
// are host code (run-pipeline activates a stack and submits the run; step-worker is a worker-thread entry).
const HOST_FILES = new Set(["src/index.ts", "src/host.ts", "src/host-light.ts", "src/plugin.ts", "src/client.ts", "src/run/run-pipeline.ts", "src/run/step-worker.ts"]);
// Tests and their fixtures may import any layer.
const TEST_FILE = /(\.test\.ts|\.test-d\.ts)$|__fixtures__\//;

function layerOf(file) {
  if (HOST_FILES.has(file)) return CORE_LAYERS.length - 1;
  const index = CORE_LAYERS.findIndex(([, pattern]) => pattern.test(file));
  return index;
}

let problems = 0;
for (const dir of packageDirs) {
  const cwd = join(root, dir);
  if (!existsSync(join(cwd, "src"))) continue;
  // dpdm names files relative to the package; anything outside it (../other/src, node_modules) is left out.
  const inside = /^src\//;
  const tree = await parseDependencyTree("src/**/*.ts", {
    cwd,
    context: cwd,
    transform: true,
    exclude: /node_modules/,
    onProgress: () => {},
  });
  const own = Object.fromEntries(
    Object.entries(tree)
      .filter(([file]) => inside.test(file))
      .map(([file, deps]) => [file, deps?.filter((d) => d.id && inside.test(d.id)) ?? null]),
  );
  const circulars = parseCircular(own);
  for (const cycle of circulars) {
    problems++;
    console.log(`${dir}: import cycle: ${[...cycle, cycle[0]].join(" -> ")}`);
  }
  if (dir === "packages/core") {
    for (const [file, deps] of Object.entries(own)) {
      if (TEST_FILE.test(file)) continue;
      const from = layerOf(file);
      for (const dep of deps ?? []) {
        const to = layerOf(dep.id);
        if (from < 0 || to < 0) throw new Error(`check-cycles: no layer for ${from < 0 ? file : dep.id}; add its folder to CORE_LAYERS`);
        if (to > from) {
          problems++;
          console.log(`${dir}: layer violation: ${file} (${CORE_LAYERS[from][0]}) imports ${dep.id} (${CORE_LAYERS[to][0]})`);
        }
      }
    }
  }
  if (circulars.length === 0) console.log(`${dir}: no import cycles`);
}
if (problems > 0) {
  console.log(`\n${problems} problem(s). Move the shared type or helper into a file both sides can import (a lower layer).`);
  process.exit(1);
}
