import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A temporary folder with files in it; `cleanup()` removes it. */
export interface TestDir {
  path: string;
  /** Absolute path of a file inside the folder. */
  join(...parts: string[]): string;
  cleanup(): Promise<void>;
}

/**
 * Creates a temp folder holding `files` (path → contents; objects are written as JSON), the way
 * changesets' `testdir` does. Use it for fake projects, fake SDK packages and plugin entries.
 *
 * @example
 * const dir = await testdir({ "package.json": { name: "demo", type: "module" }, "src/a.ts": "export {}" });
 */
export async function testdir(files: Record<string, string | object>, options: { parent?: string } = {}): Promise<TestDir> {
  const root = await mkdtemp(join(options.parent ?? tmpdir(), "orch-testdir-"));
  for (const [path, contents] of Object.entries(files)) {
    const file = join(root, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, typeof contents === "string" ? contents : `${JSON.stringify(contents, null, 2)}\n`);
  }
  return { path: root, join: (...parts) => join(root, ...parts), cleanup: () => rm(root, { recursive: true, force: true }) };
}
