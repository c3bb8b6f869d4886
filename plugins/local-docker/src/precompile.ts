import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm } from "node:fs/promises";
import { join, sep } from "node:path";
import { ENTRYPOINT_NAME, compiledModulePath, coreFiles, pluginCandidates, sha256, type Snapshot } from "@orch/core/plugin";

/** A bundle of orch-entrypoint, @orch/core and the snapshot's modules, ready to run with plain node. */
export interface CompiledProject {
  /** Folder holding `orch-entrypoint.js` and the modules (`src/steps.ts` → `src/steps.js`); ORCH_COMPILED_ROOT. */
  dir: string;
  entrypoint: string;
  /** The bundled artifact-store plugin (`storeFlavor`), for ORCH_ARTIFACT_STORE's `package`. */
  storePlugin?: string;
}

/** The bundle's entry for the artifact-store plugin: re-exports the plugin package found from the project. */
const STORE_PLUGIN_ENTRY = "orch-store-plugin";

/**
 * Step containers spend most of their start-up in the TypeScript loader (tsx) compiling core and the
 * user's modules. This compiles them once, at submit, into one ESM bundle with shared chunks — one
 * copy of core for the entrypoint and the user's modules — under `<project>/.orch/compiled/<hash>`,
 * so the user's own dependencies still resolve from the project's node_modules. Core and its
 * dependencies are bundled; the user's dependencies stay external.
 */
export async function precompileProject(options: { projectRoot: string; coreDir: string; snapshot: Snapshot; storeFlavor?: string }): Promise<CompiledProject> {
  const { projectRoot, coreDir, snapshot, storeFlavor } = options;
  const { build } = await import("esbuild");
  const core = coreFiles(coreDir);
  const coreEntry = core.index;
  // The plugin-author entry (store plugins import it), bundled against the same copy of core.
  const corePluginEntry = core.plugin;
  const modules = new Set(Object.values(snapshot.steps).map((step) => step.source.module));
  if (snapshot.pipeline.source) modules.add(snapshot.pipeline.source.module);
  const entryPoints = [
    { in: core.bin, out: ENTRYPOINT_NAME },
    // The worker thread that runs attempts of steps with a timeout (core looks for it at run/step-worker.js).
    { in: core.stepWorker, out: "run/step-worker" },
    ...[...modules].filter(Boolean).map((module) => ({ in: join(projectRoot, module), out: compiledModulePath(module) })),
    // A plugin store (s3, gcs, azure …) is bundled too, against the same copy of core: plain node in
    // the container could otherwise not load a plugin that is TypeScript source, and would load a
    // second core beside the bundled one.
    ...(storeFlavor ? [{ in: STORE_PLUGIN_ENTRY, out: "store-plugin" }] : []),
  ];
  const compiledRoot = join(projectRoot, ".orch", "compiled");
  const staging = join(compiledRoot, `.staging-${randomBytes(4).toString("hex")}`);
  const userCode = (file: string) => file.startsWith(projectRoot + sep) && !file.includes(`${sep}node_modules${sep}`);
  try {
    await build({
      entryPoints,
      outdir: staging,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent",
      // Workspace packages export TypeScript sources under @orch/source (what tsx runs with).
      ...(core.fromSource ? { conditions: ["@orch/source"] } : {}),
      // Bundled CommonJS dependencies of core may call require(); give the ESM bundle one.
      banner: { js: "import { createRequire as __orchCreateRequire } from 'node:module'; const require = __orchCreateRequire(import.meta.url);" },
      plugins: [
        {
          name: "orch-core-once",
          setup(bundle) {
            // Every import of @orch/core (the user's and the entrypoint's) is the same bundled copy.
            bundle.onResolve({ filter: /^@orch\/core$/ }, () => ({ path: coreEntry }));
            bundle.onResolve({ filter: /^@orch\/core\/plugin$/ }, () => ({ path: corePluginEntry }));
            // The store plugin under the first package name core's resolver would find for its flavor.
            bundle.onResolve({ filter: new RegExp(`^${STORE_PLUGIN_ENTRY}$`) }, async () => {
              for (const name of pluginCandidates(storeFlavor!)) {
                const found = await bundle.resolve(name, { resolveDir: projectRoot, kind: "import-statement" });
                if (!found.errors.length) return { path: found.path };
              }
              return { errors: [{ text: `no artifact-store plugin for flavor "${storeFlavor}" in ${projectRoot} (tried ${pluginCandidates(storeFlavor!).join(", ")})` }] };
            });
            // The user's own packages stay external and load from the project's node_modules.
            bundle.onResolve({ filter: /^[^./]/ }, (args) => (userCode(args.importer) && !args.path.startsWith("node:") ? { external: true } : undefined));
          },
        },
      ],
    });
    const dir = join(compiledRoot, await hashTree(staging));
    if (existsSync(dir)) await rm(staging, { recursive: true, force: true });
    else await rename(staging, dir);
    return { dir, entrypoint: join(dir, `${ENTRYPOINT_NAME}.js`), ...(storeFlavor ? { storePlugin: join(dir, "store-plugin.js") } : {}) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Content hash of a folder's files, so identical bundles share one folder across runs. */
async function hashTree(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
  const parts = await Promise.all(files.map(async (file) => `${file.slice(dir.length)}\n${sha256(await readFile(file))}`));
  return sha256(parts.join("\n")).slice(0, 16);
}
