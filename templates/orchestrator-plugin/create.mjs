#!/usr/bin/env node
// Creates a new orch orchestrator plugin from this template:
//   node templates/orchestrator-plugin/create.mjs <flavor> [target-dir] [--scope @acme]
// <flavor> is the canonical id (lower-case kebab-case, e.g. "ray" or "slurm-cluster"); the package is
// named orch-plugin-<flavor> (or @acme/orch-plugin-<flavor> with --scope), which is what core looks for.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const FLAVOR_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const templateDir = dirname(fileURLToPath(import.meta.url));
const SKIP = new Set(["create.mjs", "node_modules", "dist"]);

/** Copies the template for `flavor` into `target`; returns the files written. */
export async function createPlugin({ flavor, target, scope }) {
  if (!FLAVOR_ID.test(flavor)) throw new Error(`"${flavor}" is not a canonical flavor id: use lower-case kebab-case such as "my-cluster".`);
  if (scope && !/^@[a-z0-9][a-z0-9-._]*$/.test(scope)) throw new Error(`"${scope}" is not an npm scope (e.g. @acme).`);
  if (existsSync(target) && (await readdir(target)).length > 0) throw new Error(`${target} exists and is not empty.`);
  const camel = flavor.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  const pascal = camel[0].toUpperCase() + camel.slice(1);
  const packageName = `${scope ? `${scope}/` : ""}orch-plugin-${flavor}`;
  const replace = (text) =>
    text
      .replaceAll("orch-plugin-my-flavor", packageName)
      .replaceAll("my-flavor", flavor)
      .replaceAll("myFlavor", camel)
      .replaceAll("MyFlavor", pascal);
  const written = [];
  async function copy(from, to) {
    for (const entry of await readdir(from, { withFileTypes: true })) {
      if (SKIP.has(entry.name)) continue;
      const source = join(from, entry.name);
      const destination = join(to, entry.name);
      if (entry.isDirectory()) await copy(source, destination);
      else {
        await mkdir(to, { recursive: true });
        await writeFile(destination, replace(await readFile(source, "utf8")));
        written.push(destination);
      }
    }
  }
  await copy(templateDir, target);
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const scopeAt = args.indexOf("--scope");
  const scope = scopeAt >= 0 ? args.splice(scopeAt, 2)[1] : undefined;
  const [flavor, targetArg] = args;
  if (!flavor) {
    process.stderr.write("Usage: node create.mjs <flavor> [target-dir] [--scope @acme]\n");
    process.exit(2);
  }
  const target = resolve(targetArg ?? `orch-plugin-${flavor}`);
  try {
    const files = await createPlugin({ flavor, target, scope });
    process.stdout.write(`Created ${files.length} files in ${relative(process.cwd(), target) || "."}.\nNext: cd into it, install (pnpm install), then pnpm test — the conformance suite runs first.\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
